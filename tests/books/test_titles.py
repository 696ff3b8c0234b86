"""Every corpus book gets its own title and author, never the foundry's file name ("input")."""

from __future__ import annotations

import shutil

import pytest

from e3.books.errors import BookError
from e3.books.parse import parse_book, title_from_name
from tests.conftest import CORPUS

# (file, expected title (prefix), expected author (substring) or None when the file names none)
CASES = [
    ("epub/idpf_moby-dick_epub3.epub", "Moby-Dick", "Herman Melville"),
    ("epub/idpf_wasteland_epub3.epub", "The Waste Land", "Eliot"),
    ("epub/se_macbeth_epub3_acts-scenes.epub", "Macbeth", "William Shakespeare"),
    ("gutenberg_html/3289-h/3289-h.htm", "The Valley of Fear", "Conan Doyle"),
    ("gutenberg_html/14670-h/14670-h.htm", "Det går an", "Almqvist"),
    ("gutenberg_txt/pg1013_first-men-in-the-moon.txt", "The First Men In The Moon", "H. G. Wells"),
    ("gutenberg_txt/pg345_dracula_diary-dated-entries.txt", "Dracula", "Bram Stoker"),
    ("gutenberg_txt/pg22367-8_die-verwandlung_de_latin1_bare-roman-parts.txt", "Die Verwandlung", "Kafka"),
    # a 1996 etext: ***The Project Gutenberg Etext of "The Souls of Black Folk"*** / by W. E. B. Du Bois
    ("gutenberg_txt/pg408-old_soulb10_souls-of-black-folk_1996-etext-header_essays.txt",
     "The Souls of Black Folk", "Du Bois"),
    ("gutenberg_txt/pg829-0_gullivers-travels_parts-restart-chapters_utf8-bom.txt", "Gulliver's Travels",
     "Jonathan Swift"),
    # PDF info "The Project Gutenberg eBook #33283: Calculus Made Easy, 2nd Edition"
    ("pdf/pg33283_calculus-made-easy_293p_outline-deeper-than-chapters.pdf", "Calculus Made Easy",
     "Thompson"),
    ("pdf/study-in-scarlet_213p_no-outline_wrapped-headings.pdf", "Sherlock Holmes 1: A Study in Scarlet",
     "Conan Doyle"),
]


def _all_books():
    if not CORPUS.is_dir():
        return []
    files = [p for p in sorted(CORPUS.rglob("*")) if p.suffix.lower() in (".epub", ".txt", ".htm", ".html", ".pdf")]
    return [str(p.relative_to(CORPUS)) for p in files if "audio" not in p.parts]


@pytest.mark.parametrize("rel,title,author", CASES, ids=[c[0].split("/")[-1][:40] for c in CASES])
def test_title_and_author_from_the_book_itself(tmp_path, rel, title, author):
    src = CORPUS / rel
    if not src.exists():
        pytest.skip(f"corpus file {rel} not found under {CORPUS}")
    copy = tmp_path / f"input{src.suffix}"  # the foundry's name for every book
    shutil.copy(src, copy)
    book = parse_book(copy, fallback_title="the registered name")
    assert book.title.startswith(title), book.title
    assert author is None or author in (book.author or ""), book.author


@pytest.mark.parametrize("rel", _all_books() or ["(no corpus)"])
def test_no_corpus_book_is_called_input(tmp_path, rel):
    if rel == "(no corpus)":
        pytest.skip(f"test corpus not found at {CORPUS}")
    src = CORPUS / rel
    copy = tmp_path / f"input{src.suffix}"
    shutil.copy(src, copy)
    if "encrypted" in rel or "scanned" in rel:  # refused on purpose, with a reason
        with pytest.raises(BookError):
            parse_book(copy)
        return
    book = parse_book(copy, fallback_title=title_from_name(src.name))
    assert book.title.lower() != "input" and "input" not in [c.title.lower() for c in book.chapters]
    assert "Project Gutenberg" not in book.title
    if src.suffix.lower() != ".pdf":  # every EPUB and Gutenberg file in the corpus names its author
        assert book.author, rel
    assert book.year is None or book.year < 1990  # packaging years stay out of the book's year


def test_a_pdf_without_a_title_takes_the_name_the_user_gave(tmp_path):
    src = CORPUS / "pdf" / "latex-multicolumn_3p.pdf"
    if not src.exists():
        pytest.skip(f"corpus file not found under {CORPUS}")
    copy = tmp_path / "input.pdf"
    shutil.copy(src, copy)
    book = parse_book(copy, fallback_title="Multicolumn Article")
    assert book.title == "Multicolumn Article"
    assert all(c.title != "input" for c in book.chapters)
    # with no registered title, the file name the user gave is made readable
    assert title_from_name("the_time-machine.txt") == "The time machine"


def test_an_svg_cover_is_replaced_by_a_generated_one_not_a_failed_m4b():
    """Standard Ebooks ship an SVG cover, which no player (and no m4b muxer) can show."""
    from tests.conftest import corpus_file

    book = parse_book(corpus_file("epub/se_macbeth_epub3_acts-scenes.epub"))
    assert book.cover is None and book.cover_ext is None
    moby = parse_book(corpus_file("epub/idpf_moby-dick_epub3.epub"))
    assert moby.cover is not None  # a raster cover is kept
