"""Adding books: resolve a path, URL or Project Gutenberg id to a local file and a book id.

Used by ``e3 add``, the inbox sensor and the ``book_source`` asset. No Dagster here.
"""

from __future__ import annotations


import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from e3.errors import E3Error
from e3.foundry import Foundry, slugify, validate_book_id

GUTENBERG_ID = re.compile(r"^(?:pg)?(\d{1,7})$", re.I)
DEFAULT_GUTENBERG_URL = "https://www.gutenberg.org"


BOOK_SUFFIXES = {".epub", ".pdf", ".txt", ".text", ".htm", ".html", ".xhtml"}


class SourceNotFound(E3Error):
    pass


@dataclass(frozen=True)
class Source:
    kind: str  # "path" | "url" | "gutenberg"
    value: str

    @property
    def gutenberg_number(self) -> int | None:
        return int(self.value) if self.kind == "gutenberg" else None


def classify(spec: str) -> Source:
    spec = spec.strip()
    if re.match(r"^https?://", spec, re.I):
        return Source("url", spec)
    match = GUTENBERG_ID.fullmatch(spec)
    if match and not Path(spec).exists():
        return Source("gutenberg", str(int(match.group(1))))
    return Source("path", str(Path(spec).expanduser().resolve()))


def gutenberg_base_url() -> str:
    from e3.config import settings

    return settings().gutenberg_url.rstrip("/")


def resolve_to_local_file(spec: str, cache_dir: Path) -> Path:
    """A local file for ``spec``; downloads go through the cache (a second call fetches nothing)."""
    if spec.startswith("upload:") and "|" in spec:  # an upload: "upload:<audiobook id>|<stored path>"
        spec = spec.split("|", 1)[1]
    source = classify(spec)
    if source.kind == "path":
        path = Path(source.value)
        if path.is_dir():
            raise SourceNotFound(f"{spec}: is a folder, not a book: give one file (EPUB, PDF, TXT, HTML...)")
        if not path.is_file():
            raise SourceNotFound(f"{spec}: no such file")
        return path
    from e3.books import sources

    cache_dir.mkdir(parents=True, exist_ok=True)
    if source.kind == "gutenberg":
        return sources.fetch_gutenberg(int(source.value), cache_dir, base_url=gutenberg_base_url())
    return sources.download_url(source.value, cache_dir)


def default_book_id(spec: str, local: Path) -> str:
    source = classify(spec)
    if source.kind == "gutenberg":
        return f"pg{source.value}"
    stem = local.stem
    match = re.match(r"^pg(\d+)\b", stem, re.I)
    if match:
        return f"pg{int(match.group(1))}"
    return slugify(stem)


@dataclass(frozen=True)
class AddedBook:
    book_id: str
    title: str
    author: str | None
    source_format: str
    chapters: int
    local_path: Path


def add_book(engine: sa.Engine, foundry: Foundry, spec: str, book_id: str | None = None,
             *, validate: bool = True) -> AddedBook:
    """Register a book: resolve it, check that it parses, insert its titles row.

    Nothing is written to the catalog when the book is unreadable or the id is taken.
    """
    from e3.books.detect import detect_format
    from e3.catalog.service import book_exists, register_title

    local = resolve_to_local_file(spec, foundry.cache)
    book_id = validate_book_id(book_id) if book_id else default_book_id(spec, local)
    if book_exists(engine, book_id):
        from e3.catalog.service import DuplicateBook

        raise DuplicateBook(f"book id {book_id!r} is already in the catalog (use --book-id to pick another)")
    fmt = detect_format(local)
    if local.suffix and local.suffix.lower() not in BOOK_SUFFIXES and classify(spec).kind == "path":
        from e3.books.errors import UnknownFormatError

        raise UnknownFormatError(
            f"{local.name}: unknown book format {local.suffix!r}; E3 reads EPUB, PDF, HTML and plain text (.txt)"
        )
    title, author, language, chapters = local.stem, None, None, 0
    if validate:
        from e3.books.parse import parse_book

        book = parse_book(local)
        title, author, language, chapters = book.title, book.author, book.language, book.chapter_count
    source_spec = spec if classify(spec).kind != "path" else str(local)
    register_title(engine, book_id, title=title, author=author, language=language, source_url=source_spec)
    return AddedBook(book_id, title, author, fmt, chapters, local)
