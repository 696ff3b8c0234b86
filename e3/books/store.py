"""A book's parse in the foundry, without Dagster (the ``parsed_chapters`` and ``narration_chunks``
assets call it).

``parse_into_foundry`` parses the input, applies the publisher's ``chapters.toml``, checks the text
ledger, and writes ``audiobook/chapters/NNN.json``, ``audiobook/metadata.json`` (the parse, last:
present means complete) and the book's ``metadata.json``. ``load_chapters`` reads them back.
``plan_into_foundry`` writes the narration chunk plan.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass

from e3.books.model import Book, Chapter
from e3.errors import E3Error
from e3.foundry import BookPaths
from e3.fsutil import atomic_write_bytes, atomic_write_json, sha256_file, sha256_text


class NotParsed(E3Error):
    """The parse a later step needs is not in the foundry."""


class NoInput(E3Error):
    """The book has no input file in the foundry."""


@dataclass
class ParsedBook:
    """The parsed book, the metadata written beside its chapters, and the ledger totals."""

    book: Book
    meta: dict
    ledger_summary: str

    @property
    def warnings(self) -> list[str]:
        return self.meta["checks"]

    @property
    def data_version(self) -> str:
        return sha256_text(json.dumps(self.meta, sort_keys=True))[:16]


def parse_into_foundry(paths: BookPaths, book_id: str, *, fallback_title: str) -> ParsedBook:
    """Parse ``paths``' input into the foundry; nothing partial or stale survives a failure.

    Raises ``TextLossError``/``CorrectionsError`` (readable) or the parser's own errors.
    """
    from e3.books import corrections
    from e3.books.checks import structure_warnings
    from e3.books.ledger import check
    from e3.books.parse import parse_book

    source = paths.input_file()
    if source is None:
        raise NoInput(f"no input file in {paths.root}; materialize book_source first")
    try:
        book = parse_book(source, fallback_title=fallback_title)
        # The publisher's chapters.toml, re-applied on every parse; dropped text goes to the ledger.
        fixes = corrections.load(paths.chapters_toml)
        totals = book.account(corrections.apply(book, fixes))
        # More than 2% of the body neither narrated nor set aside: text would be lost silently.
        check(totals, f"{book_id} ({source.name})")
    except BaseException:
        for stale in (paths.parse_metadata, paths.chunk_plan):
            stale.unlink(missing_ok=True)
        shutil.rmtree(paths.chapters, ignore_errors=True)
        raise
    meta = book.to_metadata()
    meta["book_id"] = book_id
    meta["source_sha256"] = sha256_file(source)
    meta["ledger"] = totals.to_dict()
    meta["checks"] = structure_warnings(book)  # signals to look again, not failures
    # Part of the data version: editing chapters.toml changes the asset (and only the edited
    # chapters' text, so only their chunks are voiced again).
    meta["corrections_sha256"] = sha256_file(paths.chapters_toml) if fixes else None
    if book.cover:
        cover_path = paths.images / f"cover.{book.cover_ext or 'jpg'}"
        atomic_write_bytes(cover_path, book.cover)
        meta["cover_path"] = str(cover_path.relative_to(paths.root))
    # Chapter texts first, metadata last: metadata.json present means the parse is complete.
    shutil.rmtree(paths.chapters, ignore_errors=True)
    paths.chapters.mkdir(parents=True, exist_ok=True)
    for index, chapter in enumerate(book.chapters):
        name = f"{index + 1:03d}.json"
        atomic_write_json(paths.chapters / name, {
            "index": index, "title": chapter.title, "kind": chapter.kind, "paragraphs": chapter.paragraphs,
        })
        meta["chapters"][index]["file"] = f"chapters/{name}"
    atomic_write_json(paths.parse_metadata, meta)
    atomic_write_json(paths.metadata, {
        "book_id": book_id, "title": book.title, "author": book.author, "language": book.language,
        "year": book.year, "release_year": book.release_year, "subjects": book.subjects,
        "description": book.description, "source_format": book.source_format,
    })
    return ParsedBook(book, meta, totals.summary())


def load_chapters(paths: BookPaths) -> tuple[dict, list[Chapter]]:
    """The parsed metadata and its chapters from the foundry."""
    if not paths.parse_metadata.is_file():
        raise NotParsed(f"no parsed chapters at {paths.parse_metadata}; materialize parsed_chapters first")
    meta = json.loads(paths.parse_metadata.read_text(encoding="utf-8"))
    chapters = []
    for entry in meta["chapters"]:
        data = json.loads((paths.audiobook / entry["file"]).read_text(encoding="utf-8"))
        chapters.append(Chapter(title=data["title"], paragraphs=data["paragraphs"], kind=data["kind"]))
    return meta, chapters


@dataclass
class ChunkPlan:
    """What ``plan_into_foundry`` wrote to ``paths.chunk_plan``."""

    chunks: int
    longest: int  # characters of the longest chunk, display or spoken
    language: str
    chunk_limit: int
    data_version: str


def plan_into_foundry(paths: BookPaths, book_id: str, *, chunk_limit: int) -> ChunkPlan:
    """Sentence-packed chunks under ``chunk_limit``, each with display and spoken text, written to
    ``paths.chunk_plan`` as they are made (a 50 MB book never holds its chunks in memory)."""
    from e3.books.chunking import write_chunk_plan

    meta, chapters = load_chapters(paths)
    language = meta.get("language") or "en"
    # the header keys first, as the plan has always been written
    summary = write_chunk_plan(paths.chunk_plan, chapters, chunk_limit, language, book_id=book_id)
    return ChunkPlan(summary.chunks, summary.longest, language, chunk_limit, summary.data_version)
