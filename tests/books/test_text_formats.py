"""Plain-text edge cases built in tmp_path: encodings, old etexts, TOC lists, headings."""

from __future__ import annotations

from e3.books.parse import parse_book

BODY = "This is the body of the chapter, with enough words to count as a chapter of its own here."


def _book_text(chapters: str, start: str = "*** START OF THE PROJECT GUTENBERG EBOOK TEST ***") -> str:
    return ("The Project Gutenberg EBook of Test Book, by Ann Author\n\nTitle: Test Book\n\nAuthor: Ann Author\n\n"
            "Language: English\n\n" + start + "\n\nProduced by Someone\n\n\n" + chapters +
            "\n\n*** END OF THE PROJECT GUTENBERG EBOOK TEST ***\n\nSection 1. General Terms of Use licence text.\n")


def test_utf8_bom_crlf_and_in_text_contents(tmp_path):
    toc = "CONTENTS\n\nCHAPTER I. The Start\nCHAPTER II. The End\n\n\n"
    chapters = toc + f"\n\n\nCHAPTER I. The Start\n\n{BODY} Café.\n\n\n\nCHAPTER II. The End\n\n{BODY}\n"
    p = tmp_path / "b.txt"
    p.write_bytes(b"\xef\xbb\xbf" + _book_text(chapters).replace("\n", "\r\n").encode("utf-8"))
    book = parse_book(p)
    assert book.title == "Test Book" and book.author == "Ann Author" and book.language == "en"
    assert [c.title for c in book.chapters] == ["CHAPTER I. The Start", "CHAPTER II. The End"]
    assert "Café" in book.chapters[0].text and "\r" not in book.chapters[0].text
    assert "licence" not in book.chapters[-1].text and "Produced by" not in book.chapters[0].text


def test_old_small_print_etext_without_start_marker(tmp_path):
    text = ("**The Project Gutenberg Etext of Old Book, by Some One**\n\nPlease take a look at the important "
            "information in this header.\n\n**Welcome To The World of Free Plain Vanilla Electronic Texts**\n\n"
            "*****START**THE SMALL PRINT!**FOR PUBLIC DOMAIN ETEXTS**START*****\nWhy is this \"Small Print!\" "
            "statement here? You know: lawyers.\n\n*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*\n\n"
            f"\n\n\nCHAP. I.\n\n{BODY}\n\n\n\nCHAP. II.\n\n{BODY}\n\nEnd of the Project Gutenberg Etext of Old Book\n")
    p = tmp_path / "old.txt"
    p.write_bytes(text.encode("latin-1"))
    book = parse_book(p)
    assert book.title == "Old Book" and book.author == "Some One"
    assert [c.title for c in book.chapters] == ["CHAP. I.", "CHAP. II."]
    assert all("Small Print" not in c.text and "Gutenberg" not in c.text for c in book.chapters)


def test_roman_numeral_headings_and_latin1(tmp_path):
    chapters = f"\n\nI.\n\n{BODY} Noël.\n\n\nII.\n\n{BODY}\n\n\nIII.\n\n{BODY}\n"
    p = tmp_path / "r.txt"
    p.write_bytes(_book_text(chapters).encode("latin-1"))
    book = parse_book(p)
    assert [c.title for c in book.chapters] == ["I.", "II.", "III."]
    assert "Noël" in book.chapters[0].text


def test_no_headings_gives_one_chapter_titled_with_book(tmp_path):
    p = tmp_path / "n.txt"
    p.write_text(_book_text(f"{BODY}\n\n{BODY}\n"))
    book = parse_book(p)
    assert len(book.chapters) == 1 and book.chapters[0].title == "Test Book"
    assert len(book.chapters[0].paragraphs) == 2
