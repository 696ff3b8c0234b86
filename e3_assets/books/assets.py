"""Books in: the source file, parsed chapters and the narration chunk plan (partitioned by book)."""


import json
import shutil
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.orm import Session

from e3.catalog.models import Title
from e3.catalog.status import FAILURE_STEP
from e3.fsutil import sha256_file, sha256_text
from e3_assets.common import TRANSIENT_RETRY, catalog_step, md_table
from e3_assets.partitions import books_partitions
from e3_resources.catalog import CatalogResource
from e3_resources.foundry import FoundryResource
from e3_resources.tts import TTSResource


def _title_row(catalog: CatalogResource, book_id: str) -> Title:
    with catalog.session() as s:
        row = s.scalar(sa.select(Title).where(Title.book_id == book_id))
    if row is None:
        raise dg.Failure(f"book {book_id!r} is not in the catalog; add it with `e3 add`", allow_retries=False)
    return row


@dg.asset(
    partitions_def=books_partitions,
    group_name="books",
    kinds={"python", "file"},
    retry_policy=TRANSIENT_RETRY,
    description="The book's source, fetched or copied to foundry/<book_id>/input.<ext>.",
)
def book_source(context: dg.AssetExecutionContext, catalog: CatalogResource,
                foundry: FoundryResource) -> dg.MaterializeResult:
    from e3.intake import resolve_to_local_file

    book_id = context.partition_key
    title = _title_row(catalog, book_id)
    paths = foundry.book(book_id)
    with catalog_step(catalog, book_id, FAILURE_STEP["book_source"], announce=False):
        source = resolve_to_local_file(title.source_url or "", foundry.foundry().cache)
        digest = sha256_file(source)
        current = paths.input_file()
        if current is not None and current.suffix.lower() == source.suffix.lower() and sha256_file(current) == digest:
            context.log.info(f"{book_id}: input unchanged ({current.name}), nothing to copy")
            stored = current
        else:
            stored = foundry.foundry().store_input(book_id, source)
        paths.make_tree()
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(stored)),
            "sha256": digest,
            "size_bytes": stored.stat().st_size,
            "source": title.source_url or "",
        },
        data_version=dg.DataVersion(digest[:16]),
    )


def _follow_language(session, title: Title, language: str | None) -> None:
    """A book registered before its language was known (inbox, uploads) gets a narrator of its
    language when it still has the default one and a better match exists."""
    from e3.catalog.models import AudiobookProduction
    from e3.catalog.service import choose_narrator
    from e3.catalog.status import DEFAULT_NARRATOR_ID

    if not language or title.audiobook_narrator_id not in (None, DEFAULT_NARRATOR_ID):
        return
    chosen = choose_narrator(session, language)
    if chosen and chosen != title.audiobook_narrator_id:
        title.audiobook_narrator_id = chosen
        session.execute(sa.update(AudiobookProduction).where(AudiobookProduction.book_id == title.book_id)
                        .values(narrator_id=chosen))


@dg.asset(
    partitions_def=books_partitions,
    deps=[book_source],
    group_name="books",
    kinds={"python", "json"},
    retry_policy=TRANSIENT_RETRY,
    description="Chapters a listener would recognise, with the book's metadata (audiobook/metadata.json), "
                "the publisher's chapters.toml applied, and the text ledger; fails when more than 2% of the "
                "body is neither narrated nor set aside with a reason.",
)
def parsed_chapters(context: dg.AssetExecutionContext, catalog: CatalogResource,
                    foundry: FoundryResource) -> dg.MaterializeResult:
    from e3.books import corrections
    from e3.books.checks import structure_warnings
    from e3.books.ledger import TextLossError, check
    from e3.books.parse import parse_book

    book_id = context.partition_key
    paths = foundry.book(book_id)
    with catalog_step(catalog, book_id, "parse_novel"):
        source = paths.input_file()
        if source is None:
            raise dg.Failure(f"{book_id}: no input file in {paths.root}; materialize book_source first",
                             allow_retries=False)
        try:
            catalog.mark(book_id, "metadata", "processing")
            # the registered title: the name the user gave when the book states none
            book = parse_book(source, fallback_title=_title_row(catalog, book_id).title or book_id)
            # The publisher's chapters.toml, re-applied on every parse; dropped text goes to the ledger.
            fixes = corrections.load(paths.chapters_toml)
            totals = book.account(corrections.apply(book, fixes))
            # More than 2% of the body neither narrated nor set aside: text would be lost silently.
            check(totals, f"{book_id} ({source.name})")
        except Exception as exc:
            # No partial or stale metadata survives a failed parse.
            for stale in (paths.parse_metadata, paths.chunk_plan):
                stale.unlink(missing_ok=True)
            shutil.rmtree(paths.chapters, ignore_errors=True)
            readable = isinstance(exc, (TextLossError, corrections.CorrectionsError))
            catalog.mark(book_id, "metadata", "failed",
                         error=str(exc)[:1000] if readable else "the book could not be parsed")
            if readable:
                raise dg.Failure(str(exc), allow_retries=False) from None
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
            foundry.foundry().write_bytes(cover_path, book.cover)
            meta["cover_path"] = str(cover_path.relative_to(paths.root))
        # Chapter texts first, metadata last: metadata.json present means the parse is complete.
        shutil.rmtree(paths.chapters, ignore_errors=True)
        paths.chapters.mkdir(parents=True, exist_ok=True)
        for index, chapter in enumerate(book.chapters):
            name = f"{index + 1:03d}.json"
            foundry.foundry().write_json(paths.chapters / name, {
                "index": index, "title": chapter.title, "kind": chapter.kind, "paragraphs": chapter.paragraphs,
            })
            meta["chapters"][index]["file"] = f"chapters/{name}"
        foundry.foundry().write_json(paths.parse_metadata, meta)
        foundry.foundry().write_json(paths.metadata, {
            "book_id": book_id, "title": book.title, "author": book.author, "language": book.language,
            "year": book.year, "release_year": book.release_year, "subjects": book.subjects, "description": book.description,
            "source_format": book.source_format,
        })
        with catalog.session() as s, s.begin():
            row = s.scalar(sa.select(Title).where(Title.book_id == book_id))
            _follow_language(s, row, book.language)
            row.title = book.title[:500] if book.title else row.title
            row.author = (book.author or "")[:500] or row.author
            row.language = book.language or row.language
            row.publication_year = book.year  # the work's year; never the edition's
            row.genre = (book.subjects[0][:255] if book.subjects else row.genre)
        catalog.mark(book_id, "metadata", "completed")
        catalog.mark(book_id, "parse_novel", "completed", total_chapters=book.chapter_count,
                     total_words=book.total_words)
    context.log.info(f"{book_id}: {book.chapter_count} chapters, {book.total_words} words; "
                     f"text ledger: {totals.summary()}")
    for warning in meta["checks"]:
        context.log.warning(f"{book_id}: {warning}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(paths.parse_metadata)),
            "title": book.title,
            "author": book.author or "",
            "language": book.language,
            "chapters": book.chapter_count,
            "sections": len(book.chapters) - book.chapter_count,
            "words": book.total_words,
            **{f"ledger_{k}": v for k, v in meta["ledger"].items() if k != "set_aside"},
            "ledger_set_aside": dg.MetadataValue.json(meta["ledger"]["set_aside"]),
            "checks": dg.MetadataValue.md("\n".join(f"- {w}" for w in meta["checks"]) or "none"),
            "toc": dg.MetadataValue.md(md_table([(c.title, str(c.words)) for c in book.chapters[:60]])),
        },
        data_version=dg.DataVersion(sha256_text(json.dumps(meta, sort_keys=True))[:16]),
    )


def load_chapters(paths) -> tuple[dict, list]:
    """The parsed metadata and its chapters (as e3.books.model.Chapter) from the foundry."""
    from e3.books.model import Chapter

    if not paths.parse_metadata.is_file():
        raise dg.Failure(f"no parsed chapters at {paths.parse_metadata}; materialize parsed_chapters first",
                         allow_retries=False)
    meta = json.loads(paths.parse_metadata.read_text(encoding="utf-8"))
    chapters = []
    for entry in meta["chapters"]:
        data = json.loads((paths.audiobook / entry["file"]).read_text(encoding="utf-8"))
        chapters.append(Chapter(title=data["title"], paragraphs=data["paragraphs"], kind=data["kind"]))
    return meta, chapters


@dg.asset(
    partitions_def=books_partitions,
    deps=[parsed_chapters],
    group_name="books",
    kinds={"python", "json"},
    description="Sentence-packed chunks under the narrator's TTS limit, each with its display text "
                "(subtitles) and spoken text (the voice), sentence by sentence.",
)
def narration_chunks(context: dg.AssetExecutionContext, catalog: CatalogResource,
                     foundry: FoundryResource, tts: TTSResource) -> dg.MaterializeResult:
    from e3.books.chunking import write_chunk_plan

    book_id = context.partition_key
    paths = foundry.book(book_id)
    with catalog_step(catalog, book_id, FAILURE_STEP["narration_chunks"], announce=False):
        meta, chapters = load_chapters(paths)
        language = meta.get("language") or "en"
        voice = tts.voice_for_book(catalog, book_id)
        # One step: display text (for subtitles) and spoken text (for the voice), sentence by sentence,
        # written as they are made.
        plan = write_chunk_plan(paths.chunk_plan, chapters, voice.chunk_limit, language, book_id=book_id)
        catalog.set_values(book_id, total_chunks=plan.chunks)  # planning is not a step of its own
    context.log.info(f"{book_id}: {plan.chunks} chunks (limit {voice.chunk_limit} chars, longest {plan.longest})")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(paths.chunk_plan)),
            "chunks": plan.chunks,
            "chunk_limit": voice.chunk_limit,
            "longest_chunk_chars": plan.longest,
            "language": language,
        },
        data_version=dg.DataVersion(plan.data_version),
    )
