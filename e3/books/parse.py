"""One entry point: ``parse_book(path) -> Book`` for EPUB, PDF, HTML and plain text.

The format is sniffed from the bytes (``detect_format``), not taken from the extension. A book
with no marked chapters is returned as ONE chapter titled with the book title: chapters are never
invented from size. A book with zero words raises EmptyBookError.

Every parse fills a text ledger (``Book.ledger``, see e3.books.ledger): ``book.account()`` says how
much of the body is narrated, set aside with a reason, or unaccounted for.
"""

from __future__ import annotations

import re
from pathlib import Path

from e3.books import ledger
from e3.books.detect import detect_format
from e3.books.errors import EmptyBookError
from e3.books.model import Book
from e3.books.structure import merge_stray_entries


def usable_cover(data: bytes) -> bool:
    """True when Pillow can decode ``data`` (what the m4b, the video and players need)."""
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except Exception:  # noqa: BLE001 - any decoder error means "not usable"
        return False
    return True


def title_from_name(name: str) -> str:
    """A readable title from a file name the user gave: "the_time-machine.txt" -> "The Time
    Machine"; a Gutenberg-style "pg35" prefix and a "-8"/"-0" encoding suffix are dropped."""
    stem = Path(name).name
    stem = re.sub(r"\.(epub|pdf|html?|txt|xhtml)$", "", stem, flags=re.I)
    stem = re.sub(r"^pg\d+[-_ ]*", "", stem, flags=re.I) or stem
    stem = re.sub(r"[-_](?:0|8|h|images)$", "", stem)
    words = " ".join(re.sub(r"[_\-.]+", " ", stem).split())
    return words[:1].upper() + words[1:] if words else stem


def parse_book(path: Path | str, *, fallback_title: str | None = None) -> Book:
    """Parse ``path`` into a Book; raises a BookError subclass with a readable message on bad input.

    When the book states no title of its own, the title is ``fallback_title`` (the foundry keeps
    its copy as ``input.<ext>``, so the asset passes the title the book was registered with),
    else one made from the file name.
    """
    path = Path(path)
    fmt = detect_format(path)
    with ledger.recording() as text_ledger:
        book = _parse_format(path, fmt)
        book.ledger = text_ledger
        _finish(book, path, fallback_title)
    return book


def _parse_format(path: Path, fmt: str) -> Book:
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
    return book


def _finish(book: Book, path: Path, fallback_title: str | None) -> None:
    if book.title == path.stem:  # the parser found no title in the book itself
        fallback = (fallback_title or "").strip() or title_from_name(path.name)
        for chapter in book.chapters:
            if chapter.title == book.title:
                chapter.title = fallback
        book.title = fallback
    if book.cover is not None and not usable_cover(book.cover):
        # An SVG or broken cover (Standard Ebooks ship SVG): players need a raster picture, so
        # the book gets a generated cover instead of a failed m4b.
        book.cover, book.cover_ext = None, None
    book.chapters = merge_stray_entries([c for c in book.chapters if c.words > 0])
    if book.total_words == 0:
        raise EmptyBookError(f"{path.name}: no readable words found")
