"""Narration: chunk audio, the chaptered m4b and subtitles (partitioned by book)."""

import json
import time
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from e3.catalog.models import Narrator, Title
from e3.catalog.status import complete_upload, report_chunk_progress
from e3.fsutil import remove_stale_parts, sha256_file, sha256_text
from e3_assets.books.assets import narration_chunks
from e3_assets.common import TRANSIENT_RETRY, catalog_step, human_duration, human_size
from e3_assets.partitions import books_partitions
from e3_resources.catalog import CatalogResource
from e3_resources.foundry import FoundryResource
from e3_resources.tts import TTSResource

LOUDNESS_TARGET = -18.0
TRUE_PEAK = -1.5
MANIFEST = "audio_manifest.json"


def _read_json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise dg.Failure(f"{what} not found at {path}; materialize the upstream asset first", allow_retries=False)
    return json.loads(path.read_text(encoding="utf-8"))


@dg.asset(
    partitions_def=books_partitions,
    deps=[narration_chunks],
    group_name="narration",
    kinds={"python", "flac"},
    pool="tts",
    retry_policy=TRANSIENT_RETRY,
    description="One FLAC (+ timing sidecar) per narration chunk, named by a hash of text, voice and "
                "settings; a rerun synthesizes only what is missing.",
)
def audio_chunks(context: dg.AssetExecutionContext, catalog: CatalogResource, foundry: FoundryResource,
                 tts: TTSResource) -> dg.MaterializeResult:
    from e3.narration.pauses import pause_after
    from e3.narration.synth import AUDIO_EXT, chunk_audio_name, synthesize_chunks
    from e3.narration.tts import voice_key_for

    book_id = context.partition_key
    paths = foundry.book(book_id)
    with catalog_step(catalog, book_id, "audio_generation"):
        plan = _read_json(paths.chunk_plan, "chunk plan")
        voice = tts.voice_for_book(catalog, book_id)
        voice_key = voice_key_for(**voice.spec)  # the same key make_backend gives, without loading the voice
        paths.audio_chunks.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(paths.audio_chunks)
        chunks = plan["chunks"]
        jobs, entries = [], []
        for chunk in chunks:
            name = chunk_audio_name(chunk["text_hash"], voice_key)
            out = paths.audio_chunks / f"{name}{AUDIO_EXT}"
            # The voice reads the spoken sentences; timings carry the display ones (old plans: text).
            spoken = chunk.get("spoken_sentences") or chunk.get("sentences") or None
            display = chunk.get("sentences") if chunk.get("spoken_sentences") else None
            jobs.append((chunk.get("spoken") or chunk["text"], out, spoken, display))
            entries.append({"file": out.name, "chapter_index": chunk["chapter_index"],
                            "pause_after": pause_after(chunk["pause_after"]), "pause_kind": chunk["pause_after"]})
        total = len(jobs)
        missing = sum(1 for job in jobs if not job[1].with_suffix(".json").is_file())
        context.log.info(f"{book_id}: {total} chunks, {total - missing} already voiced, {missing} to synthesize "
                         f"with {voice.voice_model}")
        engine = catalog.engine
        last = {"t": 0.0, "logged": -1}
        started = time.monotonic()

        def on_done(done: int, all_: int, path: Path) -> None:
            now = time.monotonic()
            if done == all_ or now - last["t"] >= 1.0:
                last["t"] = now
                report_chunk_progress(engine, book_id, done, all_)
            step = max(1, all_ // 20)
            if done == all_ or done // step != last["logged"]:
                last["logged"] = done // step
                context.log.info(f"{book_id}: {done}/{all_} chunks")

        sidecars = synthesize_chunks(jobs, voice.spec, workers=tts.worker_count(), on_done=on_done)
        for entry, sidecar in zip(entries, sidecars, strict=True):
            entry["duration"] = sidecar["duration"]
            entry["samples"] = sidecar["samples"]
            entry["sample_rate"] = sidecar["sample_rate"]
        # Files of chunks no longer in the plan (an edited chapter) are removed.
        keep = {e["file"] for e in entries} | {Path(e["file"]).with_suffix(".json").name for e in entries}
        orphans = [p for p in paths.audio_chunks.iterdir() if p.name not in keep and not p.name.startswith(".")]
        for orphan in orphans:
            orphan.unlink(missing_ok=True)
        manifest = {"book_id": book_id, "voice_key": voice_key, "narrator_id": voice.narrator_id,
                    "sample_rate": voice.sample_rate, "chapters": plan["chapters"], "chunks": entries}
        foundry.foundry().write_json(paths.audiobook / MANIFEST, manifest)
        speech_seconds = sum(e["duration"] for e in entries)
        catalog.mark(book_id, "audio_generation", "completed", audio_jobs_completed=total,
                     total_audio_files=total)
        report_chunk_progress(engine, book_id, total, total)
    elapsed = time.monotonic() - started
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(paths.audio_chunks)),
            "chunks": total,
            "synthesized_now": missing,
            "reused": total - missing,
            "removed_orphans": len(orphans),
            "speech_seconds": round(speech_seconds, 2),
            "voice_model": voice.voice_model,
            "narrator_id": voice.narrator_id,
            "wall_seconds": round(elapsed, 2),
        },
        data_version=dg.DataVersion(sha256_text(*(e["file"] for e in entries))[:16]),
    )


# Bumped when the m4b's layout changes, so files made by older code are assembled again
# (2: the QuickTime chapter track is present for chapters of any length).
M4B_LAYOUT = "m4b-layout-2"


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


@dg.asset(
    partitions_def=books_partitions,
    deps=[audio_chunks],
    group_name="narration",
    kinds={"ffmpeg", "m4b"},
    pool="ffmpeg",
    retry_policy=TRANSIENT_RETRY,
    description="One chaptered, tagged AAC .m4b with a cover, loudness-normalized for spoken word.",
)
def audiobook_m4b(context: dg.AssetExecutionContext, catalog: CatalogResource,
                  foundry: FoundryResource) -> dg.MaterializeResult:
    from e3.media.m4b import Segment, assemble_m4b

    book_id = context.partition_key
    paths = foundry.book(book_id)
    out = paths.m4b(book_id)
    sidecar = out.with_name(out.name + ".json")
    with catalog_step(catalog, book_id, "audio_combination"):
        catalog.mark(book_id, "audio_files_moved", "processing")
        manifest = _read_json(paths.audiobook / MANIFEST, "audio manifest")
        missing = [e["file"] for e in manifest["chunks"] if not (paths.audio_chunks / e["file"]).is_file()]
        if missing:
            catalog.mark(book_id, "audio_files_moved", "failed", error=f"{len(missing)} chunk files missing")
            raise dg.Failure(f"{book_id}: {len(missing)} chunk files are missing (e.g. {missing[0]}); "
                             "materialize audio_chunks again", allow_retries=False)
        catalog.mark(book_id, "audio_files_moved", "completed")
        catalog.mark(book_id, "audio_combination_planned", "processing")
        used = sorted({e["chapter_index"] for e in manifest["chunks"]})
        renumber = {old: new for new, old in enumerate(used)}
        titles = [manifest["chapters"][i]["title"] for i in used]
        segments = [Segment(paths.audio_chunks / e["file"], e["pause_after"], renumber[e["chapter_index"]])
                    for e in manifest["chunks"]]
        # No pause after the very last chunk: the book ends when the voice does.
        segments[-1] = Segment(segments[-1].path, 0.0, segments[-1].chapter_index)
        tags, cover = _book_tags(catalog, paths, book_id, manifest.get("narrator_id"))
        inputs_hash = sha256_text(json.dumps(manifest["chunks"], sort_keys=True), json.dumps(tags, sort_keys=True),
                                  sha256_text(cover.hex()[:4096]), str(LOUDNESS_TARGET), M4B_LAYOUT)
        catalog.mark(book_id, "audio_combination_planned", "completed")
        previous = json.loads(sidecar.read_text()) if sidecar.is_file() else None
        if out.is_file() and previous and previous.get("inputs_hash") == inputs_hash:
            context.log.info(f"{book_id}: {out.name} is up to date, not assembled again")
            info = previous
        else:
            last = {"t": 0.0}

            def progress(done: float, total: float) -> None:
                if time.monotonic() - last["t"] > 5 or done >= total:
                    last["t"] = time.monotonic()
                    context.log.info(f"{book_id}: encoded {done / 60:.1f} of {total / 60:.1f} minutes")

            result = assemble_m4b(segments, titles, tags, cover, out, loudness_target=LOUDNESS_TARGET,
                                  true_peak=TRUE_PEAK, progress=progress)
            info = {
                "inputs_hash": inputs_hash,
                "duration": result.duration,
                "size_bytes": result.size_bytes,
                "chapters": [{"title": c.title, "start": c.start, "end": c.end} for c in result.chapters],
                "loudness": result.loudness.as_dict() if result.loudness else None,
                "expected_duration": sum(s_.pause_after for s_ in segments)
                + sum(e["duration"] for e in manifest["chunks"]),
                "ffmpeg_command": result.ffmpeg_command,
            }
            foundry.foundry().write_json(sidecar, info)
        catalog.mark(book_id, "audio_combination", "completed",
                     audio_duration_seconds=int(round(info["duration"])),
                     audio_file_size_bytes=info["size_bytes"], total_audio_files=len(manifest["chunks"]))
        with catalog.session() as s, s.begin():
            s.execute(sa.update(Title).where(Title.book_id == book_id).values(audiobook_complete=True))
        catalog.merge_metadata(book_id, loudness=info["loudness"], m4b_path=str(out))
        complete_upload(catalog.engine, book_id, str(out))
    loud = info["loudness"] or {}
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(out)),
            "duration_seconds": round(info["duration"], 2),
            "duration": human_duration(info["duration"]),
            "size_bytes": info["size_bytes"],
            "size": human_size(info["size_bytes"]),
            "chapters": len(info["chapters"]),
            "loudness_lufs": loud.get("integrated_lufs", float("nan")),
            "true_peak_dbtp": loud.get("true_peak_dbtp", float("nan")),
        },
        data_version=dg.DataVersion(info["inputs_hash"][:16]),
    )


@dg.asset(
    partitions_def=books_partitions,
    deps=[audiobook_m4b],
    group_name="narration",
    kinds={"python", "srt"},
    description="Sentence-level SRT and WebVTT from the synthesized audio's own timings, plus a "
                "word-level VTT where the voice gives alignments.",
)
def subtitles(context: dg.AssetExecutionContext, catalog: CatalogResource,
              foundry: FoundryResource) -> dg.MaterializeResult:
    from e3.narration.subtitles import build_cues, timeline_from_chunks, to_srt, to_vtt, word_cues, words_from_chunks
    from e3.narration.synth import read_sidecar

    book_id = context.partition_key
    paths = foundry.book(book_id)
    with catalog_step(catalog, book_id, "subtitle_generation"):
        manifest = _read_json(paths.audiobook / MANIFEST, "audio manifest")
        m4b_info = _read_json(paths.m4b(book_id).with_name(f"{book_id}.m4b.json"), "m4b sidecar")
        sidecars, offsets, t = [], [], 0.0
        for i, entry in enumerate(manifest["chunks"]):
            sidecars.append(read_sidecar(paths.audio_chunks / entry["file"]))
            offsets.append(t)
            t += entry["duration"] + (entry["pause_after"] if i < len(manifest["chunks"]) - 1 else 0.0)
        audio_end = m4b_info["duration"]
        words = words_from_chunks(sidecars, offsets)  # measured word times place cue edges
        cues = build_cues(timeline_from_chunks(sidecars, offsets), audio_end=audio_end, words=words)
        paths.subtitles.mkdir(parents=True, exist_ok=True)
        srt = paths.subtitles / f"{book_id}.srt"
        vtt = paths.subtitles / f"{book_id}.vtt"
        foundry.foundry().write_text(srt, to_srt(cues))
        foundry.foundry().write_text(vtt, to_vtt(cues))
        words_vtt = paths.subtitles / f"{book_id}.words.vtt"
        if words:
            foundry.foundry().write_text(words_vtt, to_vtt(word_cues(words, audio_end=audio_end)))
        catalog.mark(book_id, "subtitle_generation", "completed")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(srt)),
            "cues": len(cues),
            "word_level": bool(words),
            "guessed_word_times": sum(1 for w in words or [] if getattr(w, "guessed", False)),
            "last_cue_end": round(cues[-1].end, 3) if cues else 0.0,
            "audio_end": round(audio_end, 3),
        },
        data_version=dg.DataVersion(sha256_file(srt)[:16]),
    )
