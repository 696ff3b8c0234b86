"""Text read as a narrator reads it: one step from display text to spoken text, recorded per chunk.

Expected strings follow the rules (a narrator's reading, num2words' own words per language), not
the implementation's output.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from e3.books.chunking import Chunk, plan_chunks
from e3.books.model import Chapter
from e3.books.speech import for_the_eye, heading_for_the_ear, heading_for_the_eye, speak

ROOT = Path(__file__).resolve().parents[2]
WASTE_LAND = ROOT.parent / "shared" / "corpus" / "epub" / "idpf_wasteland_epub3.epub"

# (source text, language, spoken form)
CASES = [
    # --- English: roman numerals after regnal names and titles -> "the <ordinal>"
    ("Henry VIII had six wives.", "en", "Henry the Eighth had six wives."),
    ("Louis XIV built Versailles.", "en", "Louis the Fourteenth built Versailles."),
    ("Elizabeth II was crowned.", "en", "Elizabeth the Second was crowned."),
    ("Pope Pius IX convened it.", "en", "Pope Pius the Ninth convened it."),
    ("King George III lost the colonies.", "en", "King George the Third lost the colonies."),
    ("Henry VIII's wives", "en", "Henry the Eighth's wives"),
    ("Henry I of England", "en", "Henry the First of England"),
    ("Charles V ruled Spain.", "en", "Charles the Fifth ruled Spain."),
    # --- English: roman numerals after keywords -> cardinal
    ("World War II ended.", "en", "World War Two ended."),
    ("World War I began.", "en", "World War One began."),
    ("Part II", "en", "Part Two"),
    ("Psalm XXIII", "en", "Psalm Twenty-three"),
    ("Read Chapter IV first.", "en", "Read Chapter Four first."),
    ("Act III, Scene II.", "en", "Act Three, Scene Two."),
    ("Book I", "en", "Book One"),
    ("Canto XXXIV", "en", "Canto Thirty-four"),
    ("Volume XII", "en", "Volume Twelve"),
    ("Article V", "en", "Article Five"),
    # --- English negatives: pronoun, numeral-looking words, initials, labels, ambiguity
    ("I think, therefore I am.", "en", "I think, therefore I am."),
    ("They DID MIX a MILD, LIVID, DIM MIDI on CD.", "en", "They DID MIX a MILD, LIVID, DIM MIDI on CD."),
    ("The CIVIL WAR.", "en", "The CIVIL WAR."),
    ("J. C. Smith wrote it.", "en", "J. C. Smith wrote it."),
    ("V. I. Lenin spoke.", "en", "V. I. Lenin spoke."),
    ("For my part I think so.", "en", "For my part I think so."),
    ("The greater part did not.", "en", "The greater part did not."),
    ("Henry I was tired.", "en", "Henry I was tired."),
    ("Appendix C lists them.", "en", "Appendix C lists them."),
    ("Vitamin C is good.", "en", "Vitamin C is good."),
    ("Robert V. Smith came.", "en", "Robert V. Smith came."),
    ("Henry V was king.", "en", "Henry the Fifth was king."),
    # --- English dates
    ("July 4, 1776", "en", "July fourth, seventeen seventy-six"),
    ("4 July 1776", "en", "the fourth of July, seventeen seventy-six"),
    ("on the 4th of July", "en", "on the fourth of July"),
    ("Dec. 25, 1914", "en", "December twenty-fifth, nineteen fourteen"),
    ("On 11 November 1918 the guns fell silent.", "en",
     "On the eleventh of November, nineteen eighteen the guns fell silent."),
    ("May 1st", "en", "May first"),
    ("MAY 10.", "en", "MAY tenth."),
    # --- English money, numbers, ordinals, years, decimals
    ("It cost £5.", "en", "It cost five pounds."),
    ("$3.50", "en", "three dollars and fifty cents"),
    ("$1", "en", "one dollar"),
    ("$5 million", "en", "five million dollars"),
    ("€20", "en", "twenty euros"),
    ("1,234 men", "en", "one thousand two hundred and thirty-four men"),
    ("1,000,000 stars", "en", "one million stars"),
    ("3.14", "en", "three point one four"),
    ("0.5 miles", "en", "zero point five miles"),
    ("50%", "en", "fifty percent"),
    ("the 21st day", "en", "the twenty-first day"),
    ("the 3rd and the 2nd", "en", "the third and the second"),
    ("in 1887", "en", "in eighteen eighty-seven"),
    ("in 2005", "en", "in two thousand and five"),
    ("in 1900", "en", "in nineteen hundred"),
    ("the 1920s", "en", "the nineteen twenties"),
    ("1914-1918", "en", "nineteen fourteen to nineteen eighteen"),
    ("42 sheep", "en", "forty-two sheep"),
    # --- English URLs take the preposition or parentheses that introduced them
    ("A copy can be read at https://example.org/x for free.", "en", "A copy can be read for free."),
    ("Download it from www.gutenberg.org today.", "en", "Download it today."),
    ("The text (see https://example.com/a) is old.", "en", "The text is old."),
    ("It is online at http://example.com/book.html and free.", "en", "It is online and free."),
    # --- English abbreviations and cleanup
    ("Mr. Holmes and Dr. Watson", "en", "Mister Holmes and Doctor Watson"),
    ("St. Paul's on Baker St. today", "en", "Saint Paul's on Baker Street today"),
    ("He left.[1]", "en", "He left."),
    ("[Illustration: A whale] Call me Ishmael.", "en", "Call me Ishmael."),
    # --- French: cardinal days except "1er", years as cardinals, "1 234"
    ("le 14 juillet 1789", "fr", "le quatorze juillet mille sept cent quatre-vingt-neuf"),
    ("le 1er mai 1890", "fr", "le premier mai mille huit cent quatre-vingt-dix"),
    ("Il avait 21 ans.", "fr", "Il avait vingt et un ans."),
    ("1 234 hommes", "fr", "mille deux cent trente-quatre hommes"),
    ("3,5 kilos", "fr", "trois virgule cinq kilos"),
    ("Louis XIV régna.", "fr", "Louis quatorze régna."),
    ("François Ier", "fr", "François premier"),
    ("au XIXe siècle", "fr", "au dix-neuvième siècle"),
    ("Chapitre IV", "fr", "Chapitre quatre"),
    ("le 2e jour", "fr", "le deuxième jour"),
    ("50 %", "fr", "cinquante pour cent"),
    ("Le père et Ce pauvre Léon.", "fr", "Le père et Ce pauvre Léon."),
    # --- German: ordinal days declined after am/der, years read in hundreds, "1.234"
    ("am 3. Oktober 1990", "de", "am dritten Oktober neunzehnhundertneunzig"),
    ("Der 9. November 1989 war kalt.", "de", "Der neunte November neunzehnhundertneunundachtzig war kalt."),
    ("1.234 Menschen", "de", "eintausendzweihundertvierunddreißig Menschen"),
    ("3,5 Liter", "de", "drei Komma fünf Liter"),
    ("im Jahr 1871", "de", "im Jahr achtzehnhunderteinundsiebzig"),
    ("Heinrich VIII. starb", "de", "Heinrich der Achte starb"),
    ("Kapitel IV", "de", "Kapitel Vier"),
    ("Er war 42.", "de", "Er war zweiundvierzig."),
    # --- Spanish: cardinal days ("1.º" is primero), "1.234"
    ("el 2 de mayo de 1808", "es", "el dos de mayo de mil ochocientos ocho"),
    ("Felipe II reinó.", "es", "Felipe segundo reinó."),
    ("Alfonso XIII", "es", "Alfonso trece"),
    ("1.234 hombres", "es", "mil doscientos treinta y cuatro hombres"),
    ("3,5 litros", "es", "tres coma cinco litros"),
    ("Capítulo IV", "es", "Capítulo cuatro"),
    ("el 1.º de mayo", "es", "el primero de mayo"),
    # --- Italian: cardinal days except the first (primo)
    ("il 25 aprile 1945", "it", "il venticinque aprile millenovecentoquarantacinque"),
    ("il 1º maggio", "it", "il primo maggio"),
    ("Luigi XIV", "it", "Luigi quattordicesimo"),
    ("1.234 uomini", "it", "milleduecentotrentaquattro uomini"),
    ("2,5 metri", "it", "due virgola cinque metri"),
    # --- Portuguese: cardinal days except the first (primeiro)
    ("7 de setembro de 1822", "pt", "sete de setembro de mil oitocentos e vinte e dois"),
    ("1.º de maio", "pt", "primeiro de maio"),
    ("D. Pedro II", "pt", "D. Pedro segundo"),
    ("1.234 homens", "pt", "mil duzentos e trinta e quatro homens"),
    ("3,5 litros", "pt", "três vírgula cinco litros"),
    ("6.o do cap.", "pt", "sexto do cap."),
    # --- Dutch: cardinal days, years in hundreds (num2words' year form)
    ("3 oktober 1990", "nl", "drie oktober negentien honderd negentig"),
    ("Willem III", "nl", "Willem de Derde"),
    ("1.234 mensen", "nl", "duizendtweehonderdvierendertig mensen"),
    ("2,5 liter", "nl", "twee komma vijf liter"),
    ("in 1990", "nl", "in negentien honderd negentig"),
    ("de 3e dag", "nl", "de derde dag"),
    # --- another num2words language: plain numbers in its own words
    ("Ma 21 lat.", "pl", "Ma dwadzieścia jeden lat."),
]

# (heading as the book writes it, language, spoken heading)
HEADINGS = [
    ("MR. BEDFORD MEETS MR. CAVOR", "en", "Mister Bedford Meets Mister Cavor"),
    ("CHAPTER XIV. THE END", "en", "Chapter Fourteen. The End"),
    ("Chapter 4", "en", "Chapter Four"),
    ("PART II", "en", "Part Two"),
    ("Dr. Jekyll and Mr. Hyde", "en", "Doctor Jekyll and Mister Hyde"),
    ("HENRY VIII", "en", "Henry the Eighth"),
    ("CHAPITRE IV", "fr", "Chapitre quatre"),
    ("D. Gloria.", "pt", "D. Gloria."),
]


@pytest.mark.parametrize(("source", "language", "expected"), CASES)
def test_spoken_form(source, language, expected):
    assert speak(source, language) == expected


@pytest.mark.parametrize(("title", "language", "expected"), HEADINGS)
def test_headings_go_through_the_same_expansion(title, language, expected):
    assert heading_for_the_ear(title, language) == expected


def test_table_is_big_enough():
    assert len(CASES) + len(HEADINGS) >= 80
    assert {lang for _, lang, _ in CASES} >= {"en", "fr", "de", "es", "it", "pt", "nl"}


def test_display_form_keeps_what_is_written_and_drops_what_is_unheard():
    shown = for_the_eye("Henry VIII paid 1,234 men on July 4, 1776.[2] Read it at https://x.org/a for free.")
    assert shown == "Henry VIII paid 1,234 men on July 4, 1776. Read it for free."
    assert heading_for_the_eye("CHAPTER XIV. THE END") == "Chapter XIV. The End"


def test_chunk_plan_records_display_and_spoken_one_to_one():
    ch = [Chapter("CHAPTER VIII", ["Henry VIII married 6 times. Mr. Cromwell paid 1,234 men on July 4, 1776.",
                                   "See https://example.org/h for more. The End."])]
    chunks = plan_chunks(ch, max_chars=500)
    head, body, tail = chunks
    assert (head.text, head.spoken) == ("Chapter VIII", "Chapter Eight")
    assert body.sentences == ["Henry VIII married 6 times.", "Mr. Cromwell paid 1,234 men on July 4, 1776."]
    assert body.spoken_sentences == ["Henry the Eighth married six times.",
                                     "Mister Cromwell paid one thousand two hundred and thirty-four men on "
                                     "July fourth, seventeen seventy-six."]
    assert body.text == " ".join(body.sentences) and body.spoken == " ".join(body.spoken_sentences)
    assert tail.sentences == ["for more.", "The End."] and len(tail.spoken_sentences) == 2
    for c in chunks:
        assert len(c.sentences) == len(c.spoken_sentences)
        assert Chunk.from_dict(c.to_dict()) == c
        assert {"text", "spoken", "sentences", "spoken_sentences"} <= set(c.to_dict())


def test_hash_follows_spoken_text_only_and_old_plans_still_load():
    a = plan_chunks([Chapter("One", ["Henry VIII reigned."])], 100)
    b = plan_chunks([Chapter("One", ["Henry the Eighth reigned."])], 100)
    assert a[1].text != b[1].text and a[1].spoken == b[1].spoken
    assert a[1].text_hash == b[1].text_hash  # a display-only edit does not re-voice
    c = plan_chunks([Chapter("One", ["Henry VII reigned."])], 100)
    assert c[1].text_hash != a[1].text_hash
    old = {"index": 0, "chapter_index": 0, "paragraph_index": 0, "text": "Old text. Here.",
           "sentences": ["Old text.", "Here."], "pause_after": "chapter", "text_hash": "abc"}
    chunk = Chunk.from_dict(old)
    assert chunk.spoken == "Old text. Here." and chunk.spoken_sentences == ["Old text.", "Here."]


def test_limit_applies_to_the_longer_form():
    para = " ".join(f"On July {d}, 1776 they paid $1,234,567.89 to {d} men." for d in range(1, 8))
    chunks = plan_chunks([Chapter("Money", [para])], max_chars=120)
    assert all(len(c.text) <= 120 and len(c.spoken) <= 120 for c in chunks)
    body = [c for c in chunks if c.paragraph_index == 0]
    assert len(body) > 1
    assert " ".join(s for c in body for s in c.sentences if s).split() == para.split()


def test_subtitles_show_display_text_while_the_voice_reads_the_spoken(tmp_path):
    from e3.narration.subtitles import build_cues, timeline_from_chunks
    from e3.narration.synth import read_sidecar, synthesize_chunks, synthesize_to_file
    from e3.narration.tts import PiperBackend

    chunk = plan_chunks([Chapter("One", ["Henry VIII reigned. It was 1509."])], 200)[1]
    backend = PiperBackend()
    out = tmp_path / "c.flac"
    meta = synthesize_to_file(backend, chunk.spoken, out, chunk.spoken_sentences, chunk.sentences)
    assert [s["text"] for s in meta["sentences"]] == ["Henry VIII reigned.", "It was 1509."]
    assert meta["sentences"][0]["spoken"] == "Henry the Eighth reigned."
    assert [s["index"] for s in meta["sentences"]] == [0, 1]
    cues = build_cues(timeline_from_chunks([meta], [0.0]))
    assert "Henry VIII reigned." in [c.text for c in cues]
    assert not any("Eighth" in c.text for c in cues)
    # A display-only edit keeps the audio and relabels the reused sidecar.
    stamp = out.stat().st_mtime_ns
    shown = ["King Henry VIII reigned.", "It was 1509."]
    again = synthesize_chunks([(chunk.spoken, out, chunk.spoken_sentences, shown)], {"voice_model": "piper"},
                              workers=0)
    assert out.stat().st_mtime_ns == stamp
    assert [s["text"] for s in again[0]["sentences"]] == shown
    assert [s["text"] for s in read_sidecar(out)["sentences"]] == shown


def test_backend_voices_given_sentences_one_to_one():
    from e3.narration.tts import PiperBackend

    res = PiperBackend().synthesize("Mister Smith came. He sat.", sentences=["Mister Smith came.", "He sat."])
    assert [s.text for s in res.sentences] == ["Mister Smith came.", "He sat."]


@pytest.mark.skipif(not WASTE_LAND.is_file(), reason="corpus not available")
def test_waste_land_has_no_line_numbers():
    from e3.books.parse import parse_book

    book = parse_book(WASTE_LAND)
    poems = [c for c in book.chapters if not c.title.upper().startswith("NOTES")]
    assert len(poems) >= 5
    lines = [p for c in poems for p in c.paragraphs]
    assert "Unreal City," in lines
    assert not [p for p in lines if re.search(r"\d\s*$", p)]


def test_line_and_page_numbers_are_dropped_from_markup():
    from e3.books.structure import parse_html

    doc = parse_html(b"<html><body><p>First line<span class='lnum'>10</span></p>"
                     b"<p>Second<span class='line-number'>20</span> and<span class='pagenum'>[p. 4]</span> more"
                     b"<span epub:type='pagebreak' title='5'>5</span><span role='doc-pagebreak'>6</span></p>"
                     b"<p class='linegroup'>Kept<span class='linenum'>30</span></p></body></html>")
    assert [b.text for b in doc.blocks] == ["First line", "Second and more", "Kept"]
