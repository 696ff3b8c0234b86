"""The book model shared by every parser.

Choice about extra sections: front/back matter a reader would still want read aloud (Preface,
Introduction, Etymology, Extracts, Epilogue, Notes, Bibliography...) is kept as a ``Chapter`` with
``kind="section"``. It is narrated like any chapter but is NOT counted in ``Book.chapter_count``, so
the count matches the book's own numbering. Cover, title page, contents, copyright and licence text
are not narrated; the parsers record them in the text ledger with their reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_WORD = re.compile(r"\w+(?:['’\-]\w+)*")


def count_words(text: str) -> int:
    return sum(1 for _ in _WORD.finditer(text))  # no list of every word of a huge text


@dataclass
class Chapter:
    """One chapter (or extra section): its own title and its paragraphs of clean text."""

    title: str
    paragraphs: list[str]
    kind: str = "chapter"  # "chapter" or "section"

    @property
    def text(self) -> str:
        """Paragraphs joined by blank lines."""
        return "\n\n".join(self.paragraphs)

    @property
    def words(self) -> int:
        return sum(count_words(p) for p in self.paragraphs)


@dataclass
class Book:
    """A parsed book. ``year`` is the year the work was first published, when the file says so;
    ``release_year`` is the year this edition was packaged (a Gutenberg release, an EPUB's date,
    a PDF's creation date), which players must not show as the book's year."""

    title: str
    author: str | None
    language: str
    year: int | None = None
    release_year: int | None = None
    subjects: list[str] = field(default_factory=list)
    description: str | None = None
    cover: bytes | None = None
    cover_ext: str | None = None
    chapters: list[Chapter] = field(default_factory=list)
    source_format: str = "txt"
    # The text ledger (e3.books.ledger.Ledger) filled while parsing; None for a hand-made Book.
    ledger: Any = field(default=None, repr=False, compare=False)

    def account(self, extra_aside=()):
        """The ledger's totals for the current chapters (None without a ledger); ``extra_aside`` is
        (reason, text) pairs set aside after parsing (a publisher's corrections)."""
        return self.ledger.totals(self.chapters, extra_aside) if self.ledger is not None else None

    @property
    def chapter_count(self) -> int:
        """Chapters proper (kind == "chapter"); extra sections are not counted."""
        return sum(1 for c in self.chapters if c.kind == "chapter")

    @property
    def total_words(self) -> int:
        return sum(c.words for c in self.chapters)

    def to_metadata(self) -> dict[str, Any]:
        """JSON-able metadata (no cover bytes; ``has_cover`` tells whether one exists)."""
        return {
            "title": self.title,
            "author": self.author,
            "language": self.language,
            "year": self.year,
            "release_year": self.release_year,
            "subjects": list(self.subjects),
            "description": self.description,
            "has_cover": self.cover is not None,
            "cover_ext": self.cover_ext,
            "source_format": self.source_format,
            "chapter_count": self.chapter_count,
            "total_words": self.total_words,
            "chapters": [
                {"index": i, "title": c.title, "kind": c.kind, "words": c.words}
                for i, c in enumerate(self.chapters)
            ],
        }
