"""One huge paragraph is chunked in linear time: the sentence splitter (quadratic in its input)
never sees more than a window of text, and past HUGE_TEXT a plain punctuation split is used.
The 50 MB timing target lives in bench/chunk_huge.py, not here."""

import pysbd

from e3.books import chunking
from e3.books.model import Chapter


def test_the_sentence_splitter_sees_bounded_windows_and_nothing_is_lost(monkeypatch):
    seen = []
    real = pysbd.Segmenter.segment

    def spy(self, text):
        seen.append(len(text))
        return real(self, text)

    monkeypatch.setattr(pysbd.Segmenter, "segment", spy)
    sentence = "The keeper counted the lamps along the quay, and Mr. Bell wrote them down. "
    text = sentence * 4000  # 300 kB in one paragraph, on one line
    chunks = chunking.plan_chunks([Chapter(title="One", paragraphs=[text])], max_chars=400)
    assert seen and max(seen) <= chunking.SBD_WINDOW
    body = " ".join(c.text for c in chunks if c.paragraph_index == 0)
    assert body.split() == text.split()  # every word narrated, in order
    assert all(len(c.spoken) <= 400 for c in chunks)


def test_past_huge_text_a_punctuation_split_keeps_every_word(monkeypatch):
    monkeypatch.setattr(chunking, "HUGE_TEXT", 10_000)
    text = "Lamps were lit; rain fell. " * 1000
    sents = chunking.split_sentences(text)
    assert len(sents) == 2000 and " ".join(sents).split() == text.split()
