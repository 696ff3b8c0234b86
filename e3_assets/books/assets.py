"""Books in: the source file, parsed chapters and the narration chunk plan (partitioned by book)."""


import dagster as dg
import sqlalchemy as sa

from e3.catalog.models import Title
from e3.catalog.status import FAILURE_STEP
from e3 import code_versions
from e3.fsutil import sha256_file
from e3_assets.common import book_asset, catalog_step, md_table
from e3_resources.catalog import CatalogResource
from e3_resources.foundry import FoundryResource
from e3_resources.tts import TTSResource


def _title_row(catalog: CatalogResource, book_id: str) -> Title:
    with catalog.session() as s:
        row = s.scalar(sa.select(Title).where(Title.book_id == book_id))
    if row is None:
        raise dg.Failure(f"book {book_id!r} is not in the catalog; add it with `e3 add`", allow_retries=False)
    return row


@book_asset(
    group_name="books",
    kinds={"python", "file"},
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


@book_asset(
    deps=[book_source],
    group_name="books",
    kinds={"python", "json"},
    code_version=code_versions.PARSER,
    description="Chapters a listener would recognise, with the book's metadata (audiobook/metadata.json), "
                "the publisher's chapters.toml applied, and the text ledger; fails when more than 2% of the "
                "body is neither narrated nor set aside with a reason.",
)
def parsed_chapters(context: dg.AssetExecutionContext, catalog: CatalogResource,
                    foundry: FoundryResource) -> dg.MaterializeResult:
    from e3.books.store import parse_into_foundry
    from e3.catalog.status import record_parsed_book

    book_id = context.partition_key
    with catalog_step(catalog, book_id, "parse_novel"), catalog_step(catalog, book_id, "metadata"):
        # the registered title: the name the user gave when the book states none
        parsed = parse_into_foundry(foundry.book(book_id), book_id,
                                    fallback_title=_title_row(catalog, book_id).title or book_id)
        record_parsed_book(catalog.engine, book_id, parsed.book)
    book, meta = parsed.book, parsed.meta
    context.log.info(f"{book_id}: {book.chapter_count} chapters, {book.total_words} words; "
                     f"text ledger: {parsed.ledger_summary}")
    for warning in parsed.warnings:
        context.log.warning(f"{book_id}: {warning}")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(foundry.book(book_id).parse_metadata)),
        "title": book.title, "author": book.author or "", "language": book.language,
        "chapters": book.chapter_count, "sections": len(book.chapters) - book.chapter_count,
        "words": book.total_words,
        **{f"ledger_{k}": v for k, v in meta["ledger"].items() if k != "set_aside"},
        "ledger_set_aside": dg.MetadataValue.json(meta["ledger"]["set_aside"]),
        "checks": dg.MetadataValue.md("\n".join(f"- {w}" for w in parsed.warnings) or "none"),
        "toc": dg.MetadataValue.md(md_table([(c.title, str(c.words)) for c in book.chapters[:60]])),
    }, data_version=dg.DataVersion(parsed.data_version))


@book_asset(
    deps=[parsed_chapters],
    group_name="books",
    kinds={"python", "json"},
    code_version=code_versions.CHUNKER,
    description="Sentence-packed chunks under the narrator's TTS limit, each with its display text "
                "(subtitles) and spoken text (the voice), sentence by sentence.",
)
def narration_chunks(context: dg.AssetExecutionContext, catalog: CatalogResource,
                     foundry: FoundryResource, tts: TTSResource) -> dg.MaterializeResult:
    from e3.books.store import plan_into_foundry

    book_id = context.partition_key
    paths = foundry.book(book_id)
    with catalog_step(catalog, book_id, FAILURE_STEP["narration_chunks"], announce=False):
        voice = tts.voice_for_book(catalog, book_id)
        # One step: display text (for subtitles) and spoken text (for the voice), sentence by sentence.
        plan = plan_into_foundry(paths, book_id, chunk_limit=voice.chunk_limit)
        catalog.set_values(book_id, total_chunks=plan.chunks)  # planning is not a step of its own
    context.log.info(f"{book_id}: {plan.chunks} chunks (limit {plan.chunk_limit} chars, longest {plan.longest})")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(paths.chunk_plan)),
            "chunks": plan.chunks,
            "chunk_limit": plan.chunk_limit,
            "longest_chunk_chars": plan.longest,
            "language": plan.language,
        },
        data_version=dg.DataVersion(plan.data_version),
    )
