"""Narration: chunk audio, the chaptered m4b and subtitles (partitioned by book)."""

import dagster as dg
import sqlalchemy as sa

from e3 import code_versions
from e3.catalog.models import Narrator, Title
from e3.foundry import read_json as _read_json
from e3_assets.common import book_asset, catalog_step, human_duration, human_size, log_every
from e3_assets.narration.fanout import audio_chunks  # graph-backed: chapter batches over workers
from e3_resources.asr import ASRResource
from e3_resources.catalog import CatalogResource
from e3_resources.foundry import FoundryResource


def _book_tags(catalog: CatalogResource, paths, book_id: str, narrator_id: str | None) -> tuple[dict, bytes]:
    """m4b tags from the catalog and the parse metadata, and the cover (the book's, else generated)."""
    from e3.media.cover import generate_cover

    meta = _read_json(paths.parse_metadata, "parsed chapters")
    with catalog.session() as s:
        title = s.scalar(sa.select(Title).where(Title.book_id == book_id))
        narrator = s.get(Narrator, narrator_id) if narrator_id else None
    tags = {
        "title": (title.title if title else None) or meta.get("title") or book_id,
        "author": (title.author if title else None) or meta.get("author") or "Unknown",
        "narrator": narrator.narrator_name if narrator else "",
        "year": str((title.publication_year if title else None) or meta.get("year") or ""),
        "genre": (title.genre if title else None) or "Audiobook",
        "language": (title.language if title else None) or meta.get("language") or "",
        "release_year": str(meta.get("release_year") or ""),
        "description": meta.get("description") or f"{meta.get('title', book_id)}, narrated by E3.",
    }
    tags = {k: v for k, v in tags.items() if v}
    cover_rel = meta.get("cover_path")
    cover = (paths.root / cover_rel).read_bytes() if cover_rel and (paths.root / cover_rel).is_file() else None
    return tags, cover or generate_cover(tags["title"], tags.get("author", ""))


@book_asset(
    deps=[audio_chunks],
    group_name="narration",
    kinds={"ffmpeg", "m4b"},
    pool="ffmpeg",
    code_version=code_versions.M4B,
    description="One chaptered, tagged AAC .m4b with a cover, loudness-normalized for spoken word.",
)
def audiobook_m4b(context: dg.AssetExecutionContext, catalog: CatalogResource,
                  foundry: FoundryResource) -> dg.MaterializeResult:
    from e3.catalog.status import finish_audiobook
    from e3.narration.audiobook import make_book_m4b

    book_id = context.partition_key
    paths = foundry.book(book_id)
    with catalog_step(catalog, book_id, "audio_combination"):
        manifest = _read_json(paths.audio_manifest, "audio manifest")
        tags, cover = _book_tags(catalog, paths, book_id, manifest.get("narrator_id"))
        made = make_book_m4b(manifest, paths.audio_chunks, paths.m4b(book_id), paths.m4b_sidecar(book_id), tags,
                             cover, on_step=lambda step, status, error=None: catalog.mark(book_id, step, status,
                                                                                          error=error),
                             progress=log_every(context, f"{book_id}: encoded", unit=60, unit_name="minutes"),
                             log=lambda m: context.log.info(f"{book_id}: {m}"))
        finish_audiobook(catalog.engine, book_id, str(made.path), duration=made.info["duration"],
                         size_bytes=made.info["size_bytes"], files=made.files, loudness=made.info["loudness"])
    loud = made.info["loudness"] or {}
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(made.path)),
            "duration_seconds": round(made.info["duration"], 2),
            "duration": human_duration(made.info["duration"]),
            "size_bytes": made.info["size_bytes"],
            "size": human_size(made.info["size_bytes"]),
            "chapters": len(made.info["chapters"]),
            "reused": made.reused,
            "loudness_lufs": loud.get("integrated_lufs", float("nan")),
            "true_peak_dbtp": loud.get("true_peak_dbtp", float("nan")),
        },
        data_version=dg.DataVersion(made.info["inputs_hash"][:16]),
    )


@book_asset(
    deps=[audiobook_m4b],
    group_name="narration",
    kinds={"python", "srt"},
    code_version=code_versions.SUBTITLES,
    description="Sentence-level SRT and WebVTT from the synthesized audio's own timings, plus a "
                "word-level VTT where the voice gives alignments (else, with the asr extra, from the "
                "speech recognizer's word times aligned to the text).",
)
def subtitles(context: dg.AssetExecutionContext, catalog: CatalogResource,
              foundry: FoundryResource, asr: ASRResource) -> dg.MaterializeResult:
    from e3.narration.book_subtitles import make_book_subtitles

    book_id = context.partition_key
    with catalog_step(catalog, book_id, "subtitle_generation"):
        made = make_book_subtitles(foundry.book(book_id), book_id, asr.recognizer, warn=context.log.warning)
        catalog.mark(book_id, "subtitle_generation", "completed")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(made.srt)),
            "cues": len(made.cues),
            "word_level": bool(made.words),
            "guessed_word_times": made.guessed_word_times,
            "last_cue_end": round(made.cues[-1].end, 3) if made.cues else 0.0,
            "audio_end": round(made.audio_end, 3),
            "audio_duration": human_duration(made.audio_end),
        },
        data_version=dg.DataVersion(made.data_version),
    )
