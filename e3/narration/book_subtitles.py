"""A book's subtitles from its voiced chunks, without Dagster (the ``subtitles`` asset calls it).

Sentence cues come from each chunk's timing sidecar placed at its start in the m4b; word times,
where the voice gives them (else heard by the speech recognizer when the ``asr`` extra is
installed), place the cue edges and make the word-level WebVTT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from e3.foundry import BookPaths, read_json
from e3.fsutil import atomic_write_text, sha256_file


@dataclass
class BookSubtitles:
    srt: Path
    cues: list
    words: list | None
    audio_end: float

    @property
    def guessed_word_times(self) -> int:
        return sum(1 for w in self.words or [] if getattr(w, "guessed", False))

    @property
    def data_version(self) -> str:
        return sha256_file(self.srt)[:16]


def make_book_subtitles(paths: BookPaths, book_id: str, recognizer: Callable[[], object] | None = None, *,
                        warn: Callable[[str], None] = print) -> BookSubtitles:
    """Write ``paths.srt``, ``paths.vtt`` and (when word times are known) ``paths.words_vtt``.

    ``recognizer()`` gives the speech recognizer for voices without word timings; ``warn`` hears
    why it could not be used.
    """
    from e3.narration.audiobook import chunk_starts
    from e3.narration.subtitles import build_cues, timeline_from_chunks, to_srt, to_vtt, word_cues, words_from_chunks
    from e3.narration.synth import read_sidecar

    manifest = read_json(paths.audio_manifest, "audio manifest")
    audio_end = read_json(paths.m4b_sidecar(book_id), "m4b sidecar")["duration"]
    sidecars = [read_sidecar(paths.audio_chunks / e["file"]) for e in manifest["chunks"]]
    offsets = chunk_starts(manifest["chunks"])
    if recognizer is not None and any(s.get("words") is None for s in sidecars):  # no timings: hear them
        from e3.narration.listen import ASRNotInstalled, time_by_ear

        language = read_json(paths.parse_metadata, "parsed chapters").get("language") or "en"
        try:
            sidecars = time_by_ear(recognizer(), paths.audio_chunks, sidecars, paths.audiobook / "heard", language)
        except ASRNotInstalled as exc:
            warn(f"{book_id}: {exc}; subtitles keep the voice's sentence times")
    words = words_from_chunks(sidecars, offsets)  # measured word times place cue edges
    cues = build_cues(timeline_from_chunks(sidecars, offsets), audio_end=audio_end, words=words)
    paths.subtitles.mkdir(parents=True, exist_ok=True)
    atomic_write_text(paths.srt(book_id), to_srt(cues))
    atomic_write_text(paths.vtt(book_id), to_vtt(cues))
    if words:
        atomic_write_text(paths.words_vtt(book_id), to_vtt(word_cues(words, audio_end=audio_end)))
    return BookSubtitles(paths.srt(book_id), cues, words, audio_end)
