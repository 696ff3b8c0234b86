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

from e3.fsutil import atomic_write_json, remove_stale_parts
from e3.narration.pauses import pause_after
from e3.narration.synth import AUDIO_EXT, chunk_audio_name, synthesize_chunks
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


def voice_book(plan: dict, chunk_dir: Path, manifest_path: Path, *, voice_spec: dict[str, Any], book_id: str,
               narrator_id: str | None, sample_rate: int, workers: int | None = None,
               on_done: Callable[[int, int, Path], None] | None = None,
               log: Callable[[str], None] = lambda _m: None) -> VoicedBook:
    """Voice every chunk of ``plan`` that has no finished file, then write the manifest."""
    voice_key = voice_key_for(**voice_spec)  # the key make_backend gives, without loading the voice
    chunk_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(chunk_dir)
    jobs, entries = plan_jobs(plan, chunk_dir, voice_key)
    missing = sum(1 for job in jobs if not job[1].with_suffix(".json").is_file())
    log(f"{len(jobs)} chunks, {len(jobs) - missing} already voiced, {missing} to synthesize "
        f"with {voice_spec.get('voice_model', 'piper')}")
    sidecars = synthesize_chunks(jobs, voice_spec, workers=workers, on_done=on_done)
    for entry, sidecar in zip(entries, sidecars, strict=True):
        entry.update(duration=sidecar["duration"], samples=sidecar["samples"], sample_rate=sidecar["sample_rate"])
    # Files of chunks no longer in the plan (an edited chapter) are removed.
    keep = {e["file"] for e in entries} | {Path(e["file"]).with_suffix(".json").name for e in entries}
    orphans = [p for p in chunk_dir.iterdir() if p.name not in keep and not p.name.startswith(".")]
    for orphan in orphans:
        orphan.unlink(missing_ok=True)
    manifest = {"book_id": book_id, "voice_key": voice_key, "narrator_id": narrator_id,
                "sample_rate": sample_rate, "chapters": plan["chapters"], "chunks": entries}
    atomic_write_json(manifest_path, manifest)
    return VoicedBook(manifest, len(jobs), missing, len(orphans))
