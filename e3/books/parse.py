"""One entry point: ``parse_book(path) -> Book`` for EPUB, PDF, HTML and plain text.

The format is sniffed from the bytes (``detect_format``), not taken from the extension. A book
with no marked chapters is returned as ONE chapter titled with the book title: chapters are never
invented from size. A book with zero words raises EmptyBookError.
"""

from __future__ import annotations

from pathlib import Path

from e3.books.detect import detect_format
from e3.books.errors import EmptyBookError
from e3.books.model import Book


def parse_book(path: Path | str) -> Book:
    """Parse ``path`` into a Book; raises a BookError subclass with a readable message on bad input."""
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "epub":
        from e3.books.epub import parse_epub
        book = parse_epub(path)
    elif fmt == "pdf":
        from e3.books.pdf import parse_pdf
        book = parse_pdf(path)
    elif fmt == "html":
        from e3.books.gutenberg_text import parse_gutenberg_html
        book = parse_gutenberg_html(path)
    else:
        from e3.books.gutenberg_text import parse_gutenberg_txt
        book = parse_gutenberg_txt(path)
    book.chapters = [c for c in book.chapters if c.words > 0]
    if book.total_words == 0:
        raise EmptyBookError(f"{path.name}: no readable words found")
    return book
