"""Text for the ear and chunk planning."""

from __future__ import annotations

from e3.books.chunking import Chunk, plan_chunks, split_sentences
from e3.books.model import Chapter
from e3.books.speech import for_the_ear, heading_for_the_ear


def test_for_the_ear_english():
    out = for_the_ear("Mr. Holmes met Dr. Watson at St. Paul's, on Baker St. in 1887.[1] He paid £5 and "
                      "$3.50 on the 21st day. See https://example.org/x [Illustration: A whale] 1,200 men.†")
    assert "Mister Holmes" in out and "Doctor Watson" in out
    assert "Saint Paul's" in out and "Baker Street" in out
    assert "eighteen eighty-seven" in out and "twenty-first" in out
    assert "five pounds" in out and "three dollars and fifty cents" in out
    assert "one thousand two hundred men" in out  # no comma (a pause) inside a number
    for gone in ("[1]", "http", "example.org", "Illustration", "whale", "†"):
        assert gone not in out


def test_for_the_ear_keeps_paragraphs_and_non_english_has_no_english_words():
    assert for_the_ear("One.\n\nTwo [2].") == "One.\n\nTwo."
    fr = for_the_ear("Il avait 21 ans [3] et M. Dupont.", "fr")
    assert "vingt et un" in fr and "twenty" not in fr and "[3]" not in fr
    assert "Mister" not in for_the_ear("Mr. X", "de")


def test_heading_for_the_ear():
    assert heading_for_the_ear("CHAPTER XIV") == "Chapter Fourteen"
    assert heading_for_the_ear("CHAP. II.") == "Chapter Two"
    assert heading_for_the_ear("CHAPTER I: DISCUSSION AND BED") == "Chapter One. Discussion and Bed"
    assert heading_for_the_ear("I. THE BURIAL OF THE DEAD") == "One. The Burial of the Dead"
    assert heading_for_the_ear("I Was There") == "I Was There"
    assert heading_for_the_ear("Do titulo.", "pt") == "Do titulo."


def test_split_sentences_real_splitter():
    s = split_sentences("Mr. Smith went to Washington. He arrived at 3 p.m. on Monday! Did he?")
    assert s == ["Mr. Smith went to Washington.", "He arrived at 3 p.m. on Monday!", "Did he?"]
    assert split_sentences("Olá. Tudo bem?", "pt") == ["Olá.", "Tudo bem?"]
    assert split_sentences("Hello there. Bye.", "xx") == ["Hello there.", "Bye."]  # unknown -> en rules


CH = [
    Chapter("CHAPTER I", ["First sentence here. Second sentence is a bit longer than the first one. Third.",
                          "A new paragraph."]),
    Chapter("CHAPTER II", ["This single sentence is very long; it has clauses, many of them, and it keeps going "
                           "well past the limit that we set for this test — so it must be cut somewhere sensible."]),
]


def test_plan_chunks_limits_and_pauses():
    chunks = plan_chunks(CH, max_chars=60, language="en")
    assert all(len(c.text) <= 60 and len(c.spoken) <= 60 for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    # The heading is the first chunk of each chapter.
    heads = [c for c in chunks if c.paragraph_index == -1]
    assert [h.text for h in heads] == ["Chapter I", "Chapter II"] and all(h.pause_after == "paragraph" for h in heads)
    assert [h.spoken for h in heads] == ["Chapter One", "Chapter Two"]
    ch0 = [c for c in chunks if c.chapter_index == 0 and c.paragraph_index >= 0]
    assert ch0[-1].pause_after == "chapter" and ch0[-1].text == "A new paragraph."
    para0 = [c for c in ch0 if c.paragraph_index == 0]
    assert para0[-1].pause_after == "paragraph" and all(c.pause_after == "sentence" for c in para0[:-1])
    # Whole sentences when they fit: no chunk of paragraph 0 starts or ends mid-sentence.
    joined = [s for c in para0 for s in c.sentences]
    assert joined == split_sentences(CH[0].paragraphs[0])
    # The long sentence is cut at clause marks, never mid-word.
    long_parts = [c.text for c in chunks if c.chapter_index == 1 and c.paragraph_index == 0]
    assert len(long_parts) > 1 and long_parts[0].endswith((";", ",", "—"))
    assert " ".join(long_parts).split() == CH[1].paragraphs[0].split()
    assert chunks[-1].pause_after == "chapter"


def test_chunks_never_cross_paragraphs_and_pack_sentences():
    chunks = plan_chunks(CH, max_chars=500)
    body = [c for c in chunks if c.paragraph_index >= 0]
    assert [(c.chapter_index, c.paragraph_index) for c in body] == [(0, 0), (0, 1), (1, 0)]
    assert body[0].sentences == split_sentences(CH[0].paragraphs[0])


def test_hashes_stable_and_roundtrip():
    a = plan_chunks(CH, 60)
    b = plan_chunks(CH, 60)
    assert [c.text_hash for c in a] == [c.text_hash for c in b]
    assert len({c.text_hash for c in a}) == len(a)
    changed = plan_chunks([CH[0], Chapter("CHAPTER II", ["Different text now."])], 60)
    assert changed[0].text_hash == a[0].text_hash and changed[-1].text_hash != a[-1].text_hash
    for c in a:
        assert Chunk.from_dict(c.to_dict()) == c
