"""A book's m4b from its voiced chunks, without Dagster (the ``audiobook_m4b`` asset calls it).

``make_book_m4b`` reads the audio manifest's chunk files, plans segments (pauses, chapters
renumbered to those with narration), and assembles the m4b unless the sidecar says the same
inputs made the file already. Seed steps are reported through ``on_step`` as they happen:
``audio_files_moved`` (every chunk file is present), ``audio_combination_planned``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from e3 import code_versions
from e3.errors import E3Error
from e3.fsutil import atomic_write_json, sha256_text
from e3.media.m4b import Segment, assemble_m4b

LOUDNESS_TARGET = -18.0
TRUE_PEAK = -1.5
# Bumped when the m4b's layout changes, so files made by older code are assembled again
# (2: the QuickTime chapter track is present for chapters of any length).
M4B_LAYOUT = code_versions.M4B

OnStep = Callable[..., None]


class MissingChunks(E3Error):
    """Chunk files the manifest names are not there."""


@dataclass
class BookM4B:
    """The m4b and its sidecar ``info`` (duration, size, chapters, loudness, inputs_hash)."""

    path: Path
    info: dict
    reused: bool
    files: int


def chunk_starts(entries: list[dict]) -> list[float]:
    """Where each manifest chunk starts in the m4b: durations plus the pauses between them
    (none after the last chunk, as ``plan_segments`` assembles it)."""
    starts, t = [], 0.0
    for i, e in enumerate(entries):
        starts.append(t)
        t += float(e["duration"]) + (float(e["pause_after"]) if i < len(entries) - 1 else 0.0)
    return starts


def plan_segments(manifest: dict, chunk_dir: Path) -> tuple[list[Segment], list[str]]:
    """Segments in play order and the titles of the chapters that have narration."""
    used = sorted({e["chapter_index"] for e in manifest["chunks"]})
    renumber = {old: new for new, old in enumerate(used)}
    titles = [manifest["chapters"][i]["title"] for i in used]
    segments = [Segment(chunk_dir / e["file"], e["pause_after"], renumber[e["chapter_index"]])
                for e in manifest["chunks"]]
    # No pause after the very last chunk: the book ends when the voice does.
    segments[-1] = Segment(segments[-1].path, 0.0, segments[-1].chapter_index)
    return segments, titles


def _noop(*_a, **_k) -> None:
    pass


def make_book_m4b(manifest: dict, chunk_dir: Path, out: Path, sidecar: Path, tags: dict, cover: bytes, *,
                  on_step: OnStep = _noop, progress: Callable[[float, float], None] | None = None,
                  log: Callable[[str], None] = _noop) -> BookM4B:
    """Assemble (or reuse) ``out`` from the manifest's chunks; writes ``sidecar`` last."""
    on_step("audio_files_moved", "processing")
    missing = [e["file"] for e in manifest["chunks"] if not (chunk_dir / e["file"]).is_file()]
    if missing:
        on_step("audio_files_moved", "failed", error=f"{len(missing)} chunk files missing")
        raise MissingChunks(f"{len(missing)} chunk files are missing (e.g. {missing[0]}); "
                            "materialize audio_chunks again")
    on_step("audio_files_moved", "completed")
    on_step("audio_combination_planned", "processing")
    segments, titles = plan_segments(manifest, chunk_dir)
    inputs_hash = sha256_text(json.dumps(manifest["chunks"], sort_keys=True), json.dumps(tags, sort_keys=True),
                              sha256_text(cover.hex()[:4096]), str(LOUDNESS_TARGET), M4B_LAYOUT)
    on_step("audio_combination_planned", "completed")
    previous = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else None
    if out.is_file() and previous and previous.get("inputs_hash") == inputs_hash:
        log(f"{out.name} is up to date, not assembled again")
        return BookM4B(out, previous, True, len(segments))
    result = assemble_m4b(segments, titles, tags, cover, out, loudness_target=LOUDNESS_TARGET,
                          true_peak=TRUE_PEAK, progress=progress)
    info = {
        "inputs_hash": inputs_hash,
        "duration": result.duration,
        "size_bytes": result.size_bytes,
        "chapters": [{"title": c.title, "start": c.start, "end": c.end} for c in result.chapters],
        "loudness": result.loudness.as_dict() if result.loudness else None,
        "expected_duration": sum(s.pause_after for s in segments) + sum(e["duration"] for e in manifest["chunks"]),
        "ffmpeg_command": result.ffmpeg_command,
    }
    atomic_write_json(sidecar, info)
    return BookM4B(out, info, False, len(segments))
