"""The demo book: a short story written for E3 (no third-party text), packed as an EPUB 3."""

from __future__ import annotations

from html import escape
from pathlib import Path

from e3.fsutil import atomic_path

TITLE = "The Lamplighter of Wren Harbour"
AUTHOR = "The E3 Project"

CHAPTERS = [
    ("Chapter One: The Last Lamp", [
        "Every evening at a quarter past six, Mara Quill climbed the forty-two steps of the harbour wall "
        "with a brass can of oil and a long pole hooked at the end.",
        "The town of Wren Harbour had nine lamps along the quay. Mara lit them in the same order each night, "
        "from the fish market to the old customs house, and she counted them aloud as she went.",
        "On the first night of November the ninth lamp would not light. The wick was dry, the glass was clean, "
        "and yet the flame shrank back as if something in the dark had breathed on it.",
    ]),
    ("Chapter Two: The Keeper's Ledger", [
        "Mara took the problem to Mr. Ambrose Tull, who had kept the harbour ledger for thirty-one years.",
        "He turned the heavy pages slowly. In 1887, he read, the ninth lamp had failed for a whole winter, "
        "and the fishing boats had come home by the light of lanterns held up on the wall.",
        "\"It is not the lamp,\" said Mr. Tull, tapping a faded line of ink. \"It is the fog. When the grey fog "
        "comes in from the north, that corner of the quay forgets what warmth is.\"",
    ]),
    ("Chapter Three: Lanterns on the Wall", [
        "That night the fog rolled in, thick and silver, and the ninth lamp stayed dark.",
        "So Mara did what the town had done long ago. She knocked on doors, and one by one the people of "
        "Wren Harbour came out with candles, storm lanterns and a single red bicycle light.",
        "They stood along the wall until the last boat slid safely into the harbour, and in the morning the "
        "ninth lamp lit on the first try, as if it had only needed to see how it was done.",
    ]),
]


def write_demo_book(folder: Path) -> Path:
    """Write the demo EPUB into ``folder`` (atomically, once) and return its path."""
    out = folder / "e3-demo.epub"
    if out.is_file():
        return out  # same bytes every run, so a rerun resumes instead of re-parsing
    return write_epub(out, TITLE, AUTHOR, CHAPTERS, description="A three-chapter sample story that ships with E3.")


def write_epub(out: Path, title: str, author: str, chapters: list[tuple[str, list[str]]], *,
               language: str = "en", description: str | None = None, year: str = "2026") -> Path:
    """Write a small EPUB 3 (nav + NCX) with one spine item per chapter."""
    from ebooklib import epub

    out.parent.mkdir(parents=True, exist_ok=True)
    book = epub.EpubBook()
    book.set_identifier(f"urn:e3:{title}")
    book.set_title(title)
    book.set_language(language)
    book.add_author(author)
    book.add_metadata("DC", "date", year)
    book.add_metadata("DC", "subject", "Fiction")
    if description:
        book.add_metadata("DC", "description", description)
    items = []
    for number, (heading, paragraphs) in enumerate(chapters, start=1):
        item = epub.EpubHtml(title=heading, file_name=f"chapter{number}.xhtml", lang=language)
        body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        item.content = f"<html><body><section epub:type=\"chapter\"><h1>{escape(heading)}</h1>{body}</section></body></html>"
        book.add_item(item)
        items.append(item)
    book.toc = items
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *items]
    with atomic_path(out) as tmp:
        epub.write_epub(str(tmp), book)
    return out
