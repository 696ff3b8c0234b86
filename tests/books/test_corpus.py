"""Accuracy over the real corpus: chapter counts from MANIFEST.md, real titles, no leftovers."""

from __future__ import annotations

import re

import pytest

from e3.books.errors import EncryptedPDFError, ScannedPDFError
from e3.books.parse import parse_book
from tests.conftest import CORPUS, corpus_file

# file, chapters, extra sections, language, (first title, last chapter title)
CASES = [
    ("epub/idpf_moby-dick_epub3.epub", 135, ["ETYMOLOGY.", "EXTRACTS (Supplied by a Sub-Sub-Librarian).", "Epilogue"],
     "en", ("Chapter 1. Loomings.", "Chapter 135. The Chase.—Third Day.")),
    ("epub/idpf_childrens-literature_epub3.epub", 15, ["BIBLIOGRAPHY", "INTRODUCTORY"], "en",
     ("190 A FOUR-LEAVED CLOVER", "204 THE KING OF THE GOLDEN RIVER OR THE BLACK BROTHERS")),
    ("epub/idpf_wasteland_epub3.epub", 5, ['NOTES ON "THE WASTE LAND"'], "en",
     ("I. THE BURIAL OF THE DEAD", "V. WHAT THE THUNDER SAID")),
    ("epub/pg55752_dom-casmurro_pt_epub2.epub", 148, [], "pt", ("Do titulo.", "E bem, e o resto?")),
    ("epub/pg6484_cheri_fr_epub2.epub", 1, [], "fr", ("CHÉRI", "CHÉRI")),
    ("epub/pg1661_adventures-of-sherlock-holmes_epub2.epub", 12, [], "en",
     ("ADVENTURE I. A SCANDAL IN BOHEMIA", "XII. THE ADVENTURE OF THE COPPER BEECHES")),
    ("gutenberg_html/3261-h/3261-h.htm", 32, [], "en",
     ("CHAPTER I: DISCUSSION AND BED", "CHAPTER XXXII: THE FEAST’S BEGINNING—THE END")),
    ("gutenberg_txt/pg3261_news-from-nowhere.txt", 32, [], "en",
     ("CHAPTER I: DISCUSSION AND BED", "CHAPTER XXXII: THE FEAST'S BEGINNING—THE END")),
    ("gutenberg_txt/pg1013_first-men-in-the-moon.txt", 26, [], "en",
     ("Chapter 1: Mr. Bedford Meets Mr. Cavor at Lympne", "Chapter 26: The Last Message Cavor sent to the Earth")),
    ("gutenberg_txt/pg9198-8_complete-angler_latin1.txt", 13, ["PREFACE."], "en", ("The Complete ANGLER.", "CHAP. XIII.")),
]
IDS = [c[0].split("/")[-1] for c in CASES]
_BOOKS: dict = {}


def _book(rel):
    path = corpus_file(rel)
    if rel not in _BOOKS:
        _BOOKS[rel] = parse_book(path)
    return _BOOKS[rel]


@pytest.mark.parametrize("rel,count,sections,lang,titles", CASES, ids=IDS)
def test_chapter_count_and_titles(rel, count, sections, lang, titles):
    book = _book(rel)
    chapters = [c for c in book.chapters if c.kind == "chapter"]
    assert book.chapter_count == count == len(chapters)
    assert [c.title for c in book.chapters if c.kind == "section"] == sections
    assert chapters[0].title == titles[0]
    assert chapters[-1].title == titles[1]
    assert book.language.startswith(lang)
    assert book.title and book.author
    assert all(c.words > 0 for c in book.chapters)
    meta = book.to_metadata()
    assert meta["chapter_count"] == count and len(meta["chapters"]) == len(book.chapters)


_BOILER = re.compile(r"project gutenberg|\*\*\* ?start|end of (the|this) project|gutenberg\.org|"
                     r"small print|this ebook is for the use of anyone", re.I)
_MARKER = re.compile(r"\[\d{1,3}\]|\{\d{1,3}\}")


@pytest.mark.parametrize("rel", [c[0] for c in CASES], ids=IDS)
def test_no_leftovers(rel):
    book = _book(rel)
    titles = {c.title.strip().lower() for c in book.chapters}
    for ch in book.chapters:
        for para in ch.paragraphs:
            assert not _BOILER.search(para), (ch.title, para[:120])
            assert not _MARKER.search(para), (ch.title, para[:120])
        # A table of contents shows up as a run of paragraphs that are other chapters' titles.
        run = 0
        for para in ch.paragraphs:
            run = run + 1 if para.strip().lower() in titles else 0
            assert run < 2, (ch.title, para)
        assert not ch.paragraphs[0].lower().startswith(("contents", "table of contents"))


def test_cheri_is_one_chapter_not_invented():
    book = _book("epub/pg6484_cheri_fr_epub2.epub")
    assert len(book.chapters) == 1 and book.chapters[0].words > 30000
    assert book.chapters[0].paragraphs[0].startswith('"Léa!')


def test_epub_metadata_and_cover():
    book = _book("epub/pg1661_adventures-of-sherlock-holmes_epub2.epub")
    assert book.author == "Arthur Conan Doyle" and "Detective and mystery stories, English" in book.subjects
    assert book.year is None and book.release_year == 1999  # the EPUB was packaged in 1999
    moby = _book("epub/idpf_moby-dick_epub3.epub")
    assert moby.cover and moby.cover_ext in ("jpg", "jpeg", "png") and moby.cover[:2] == b"\xff\xd8"
    assert "cover" not in moby.to_metadata() and moby.to_metadata()["has_cover"] is True


def test_latin1_text_decoded():
    book = _book("gutenberg_txt/pg9198-8_complete-angler_latin1.txt")
    assert "£4 4s" in book.chapters[0].text  # a Latin-1 byte, read right
    assert "\ufffd" not in "".join(c.text for c in book.chapters)


def test_pdf_outline_gives_nine_sections():
    book = parse_book(corpus_file("pdf/pdflatex-outline_4p.pdf"))
    assert [c.title for c in book.chapters] == ["Foo", "Bar", "Baz"] * 3
    for ch in book.chapters:
        assert ch.paragraphs[0].startswith("Hello, here is some text")
        assert not any(re.fullmatch(r"\d+", p) for p in ch.paragraphs)  # page numbers gone
    assert "Contents" not in book.chapters[0].text


def test_pdf_multicolumn_reading_order_and_hyphens():
    book = parse_book(corpus_file("pdf/latex-multicolumn_3p.pdf"))
    text = book.chapters[0].text
    assert "adipiscing elit" in text and "adip- iscing" not in text and "adip-iscing" not in text
    assert "consectetuer id, vulputate" in text  # "con-/sectetuer" joined
    # Left column first: its last paragraph comes before the right column's first one.
    assert text.index("Lorem ipsum dolor sit amet, consectetuer") < text.index("Nam dui ligula") \
        < text.index("Nulla malesuada porttitor diam")
    assert text.index("Nulla malesuada porttitor diam") < text.index("Quisque ullamcorper placerat ipsum")


def test_pdf_encrypted_and_scanned_raise():
    with pytest.raises(EncryptedPDFError, match="encrypted"):
        parse_book(corpus_file("pdf/encrypted_password-protected.pdf"))
    with pytest.raises(ScannedPDFError, match="no text layer"):
        parse_book(corpus_file("pdf/scanned_linn-brochure_no-text-layer.pdf"))


PDFS = sorted(p.name for p in CORPUS.glob("pdf/*.pdf")
              if p.name not in {"encrypted_password-protected.pdf", "scanned_linn-brochure_no-text-layer.pdf"})


@pytest.mark.parametrize("name", PDFS or ["missing.pdf"], ids=lambda n: n[:40])
def test_pdf_text_has_unicode_not_glyph_ids(name):
    """Every glyph comes out as a character: no "(cid:N)" placeholders (pdfminer wrote 1,050 of
    them for Calculus Made Easy's math), no replacement characters, no control characters."""
    book = parse_book(corpus_file(f"pdf/{name}"))
    text = "\n".join(p for c in book.chapters for p in [c.title, *c.paragraphs])
    assert "(cid:" not in text
    assert "\ufffd" not in text and "\ufffe" not in text
    assert not re.search(r"[\x00-\x08\x0b-\x1f]", text)


def test_pdf_drop_caps_reading_order_and_hyphens_across_lines():
    """A Study in Scarlet: a drop cap keeps its word apart, lines read in order (pdfminer put
    "“What are you up" before "had listened"), and words hyphenated at a line end are joined."""
    book = parse_book(corpus_file("pdf/study-in-scarlet_213p_no-outline_wrapped-headings.pdf"))
    text = " ".join(" ".join(c.paragraphs) for c in book.chapters)
    assert book.chapters[2].paragraphs[1].startswith("I confess that I was considerably startled")
    assert "after he had listened to my misfortunes. “What are you up to now?”" in text
    assert "a man of studious and quiet habits." in text
    assert "consid- erably" not in text and "considerably" in text
