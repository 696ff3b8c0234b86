"""A book's chunk plan voiced into chunk files and an audio manifest, without Dagster (the
``audio_chunks`` asset calls it).

Chunk files are named by a hash of the spoken text and the voice, so a rerun voices only what is
missing and an edited chapter only its changed chunks; files of chunks no longer in the plan are
removed. The manifest (chunk files in play order with durations and pauses) is written last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e3.errors import E3Error
from e3.fsutil import atomic_write_json, remove_stale_parts
from e3.narration.pauses import pause_after
from e3.narration.synth import AUDIO_EXT, chunk_audio_name, read_sidecar, synthesize_chunks
from e3.narration.tts import voice_key_for


@dataclass
class VoicedBook:
    manifest: dict
    chunks: int
    synthesized: int
    removed_orphans: int

    @property
    def speech_seconds(self) -> float:
        return sum(e["duration"] for e in self.manifest["chunks"])


def plan_jobs(plan: dict, chunk_dir: Path, voice_key: str) -> tuple[list[tuple], list[dict]]:
    """Synthesis jobs (spoken text, out file, spoken sentences, display sentences) and manifest
    entries for every chunk of ``plan``. Old plans without ``spoken`` voice their text."""
    jobs, entries = [], []
    for chunk in plan["chunks"]:
        out = chunk_dir / f"{chunk_audio_name(chunk['text_hash'], voice_key)}{AUDIO_EXT}"
        spoken = chunk.get("spoken_sentences") or chunk.get("sentences") or None
        display = chunk.get("sentences") if chunk.get("spoken_sentences") else None
        jobs.append((chunk.get("spoken") or chunk["text"], out, spoken, display))
        entries.append({"file": out.name, "chapter_index": chunk["chapter_index"],
                        "pause_after": pause_after(chunk["pause_after"]), "pause_kind": chunk["pause_after"]})
    return jobs, entries


def plan_batches(plan: dict, chunk_dir: Path, voice_key: str, batches: int) -> list[list[int]]:
    """Split the plan's chunks into at most ``batches`` runs of whole chapters of about equal
    text (a chapter longer than twice the share is cut between its chunks); returns chunk
    indices per batch, in play order.

    Each chunk file lands in exactly one batch: a chunk whose text repeats an earlier one (same
    file name) is voiced by the earlier chunk's batch only, so two batches never voice one file.
    The split depends on the plan alone, so a retried batch voices the same chunks.
    """
    jobs, _ = plan_jobs(plan, chunk_dir, voice_key)
    seen: set[Path] = set()
    firsts = []
    for i, job in enumerate(jobs):
        if job[1] not in seen:
            seen.add(job[1])
            firsts.append(i)
    if not firsts:
        return []
    sizes = {i: len(jobs[i][0]) for i in firsts}
    share = sum(sizes.values()) / max(1, min(batches, len(firsts)))
    chapter = [c["chapter_index"] for c in plan["chunks"]]
    out: list[list[int]] = [[]]
    size = 0
    for i in firsts:
        new_chapter = out[-1] and chapter[i] != chapter[out[-1][-1]]
        if out[-1] and len(out) < batches and ((new_chapter and size >= share) or size >= 2 * share):
            out.append([])
            size = 0
        out[-1].append(i)
        size += sizes[i]
    return out


def voice_batch(plan: dict, chunk_dir: Path, indices: list[int], *, voice_spec: dict[str, Any],
                workers: int | None = None, on_done: Callable[[int, int, Path], None] | None = None) -> int:
    """Voice the chunks ``indices`` of ``plan`` that have no finished file (with a pool of its
    own, ``workers`` processes); returns how many were synthesized now."""
    voice_key = voice_key_for(**voice_spec)
    chunk_dir.mkdir(parents=True, exist_ok=True)
    jobs, _ = plan_jobs(plan, chunk_dir, voice_key)
    mine = [jobs[i] for i in indices]
    missing = sum(1 for job in mine if not job[1].with_suffix(".json").is_file())
    synthesize_chunks(mine, voice_spec, workers=workers, on_done=on_done)
    return missing


def write_manifest(plan: dict, chunk_dir: Path, manifest_path: Path, *, voice_spec: dict[str, Any], book_id: str,
                   narrator_id: str | None, sample_rate: int) -> tuple[dict, int]:
    """The audio manifest from the finished chunk files of ``plan`` (written atomically, last);
    files of chunks no longer in the plan are removed. Returns (manifest, orphans removed).
    Raises E3Error naming the first chunk without a finished file."""
    voice_key = voice_key_for(**voice_spec)
    _, entries = plan_jobs(plan, chunk_dir, voice_key)
    for entry in entries:
        sidecar = read_sidecar(chunk_dir / entry["file"])
        if sidecar is None:
            raise E3Error(f"{book_id}: chunk {entry['file']} has no finished audio; voice the book again")
        entry.update(duration=sidecar["duration"], samples=sidecar["samples"], sample_rate=sidecar["sample_rate"])
    # Files of chunks no longer in the plan (an edited chapter) are removed.
    keep = {e["file"] for e in entries} | {Path(e["file"]).with_suffix(".json").name for e in entries}
    orphans = [p for p in chunk_dir.iterdir() if p.name not in keep and not p.name.startswith(".")]
    for orphan in orphans:
        orphan.unlink(missing_ok=True)
    manifest = {"book_id": book_id, "voice_key": voice_key, "narrator_id": narrator_id,
                "sample_rate": sample_rate, "chapters": plan["chapters"], "chunks": entries}
    atomic_write_json(manifest_path, manifest)
    return manifest, len(orphans)


def voice_book(plan: dict, chunk_dir: Path, manifest_path: Path, *, voice_spec: dict[str, Any], book_id: str,
               narrator_id: str | None, sample_rate: int, workers: int | None = None,
               on_done: Callable[[int, int, Path], None] | None = None,
               log: Callable[[str], None] = lambda _m: None) -> VoicedBook:
    """Voice every chunk of ``plan`` that has no finished file, then write the manifest
    (one batch of everything: ``plan_batches`` + ``voice_batch`` + ``write_manifest`` in one go)."""
    voice_key = voice_key_for(**voice_spec)  # the key make_backend gives, without loading the voice
    chunk_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(chunk_dir)
    jobs, _ = plan_jobs(plan, chunk_dir, voice_key)
    missing = sum(1 for job in jobs if not job[1].with_suffix(".json").is_file())
    log(f"{len(jobs)} chunks, {len(jobs) - missing} already voiced, {missing} to synthesize "
        f"with {voice_spec.get('voice_model', 'piper')}")
    synthesize_chunks(jobs, voice_spec, workers=workers, on_done=on_done)
    manifest, orphans = write_manifest(plan, chunk_dir, manifest_path, voice_spec=voice_spec, book_id=book_id,
                                       narrator_id=narrator_id, sample_rate=sample_rate)
    return VoicedBook(manifest, len(jobs), missing, orphans)
