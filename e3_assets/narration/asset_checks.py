"""Asset checks on the audiobook: duration, chapters, loudness and subtitle timing.

Each check reads the book's files and calls a plain function (``*_check``) that returns the
result; the functions are tested on deliberately broken files, so no check passes by default.
"""

import json
import warnings
from pathlib import Path

import dagster as dg

# Partitioned checks are "preview" in 1.13; they are what makes "Execute all" work per book.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")

from e3.narration.audiobook import LOUDNESS_TARGET  # noqa: E402
from e3_assets.common import checked_book  # noqa: E402
from e3_assets.narration.assets import audiobook_m4b, subtitles  # noqa: E402
from e3_assets.partitions import books_partitions  # noqa: E402
from e3_resources.foundry import FoundryResource  # noqa: E402

DURATION_TOLERANCE = 0.5
LOUDNESS_TOLERANCE = 1.0


def _movie_seconds(m4b: Path) -> float:
    """The sound track's length from its sample table (what players count), not from ffmpeg's
    container estimate."""
    from e3.media.mp4boxes import tracks

    sound = next((t for t in tracks(m4b) if t.handler == "soun"), None)
    return sum(sound.sample_durations) / sound.timescale if sound and sound.timescale else 0.0


def duration_check(m4b: Path, manifest: dict) -> dg.AssetCheckResult:
    """The m4b lasts as long as its chunks plus the pauses between them (within 0.5 s)."""
    chunks = manifest["chunks"]
    expected = sum(c["duration"] for c in chunks) + sum(c["pause_after"] for c in chunks[:-1])
    actual = _movie_seconds(m4b)
    return dg.AssetCheckResult(passed=abs(actual - expected) <= DURATION_TOLERANCE,
                               metadata={"actual_seconds": round(actual, 3), "expected_seconds": round(expected, 3)})


def chapter_check(m4b, expected_titles: list[str]) -> dg.AssetCheckResult:
    """Pass only when both chapter lists in ``m4b`` hold exactly ``expected_titles``, in order,
    and agree on their start times."""
    from e3.media.chapters import chapter_title
    from e3.media.mp4boxes import chapter_problems, nero_chapters, quicktime_chapters

    want = [chapter_title(t) for t in expected_titles]
    track, nero = quicktime_chapters(m4b), nero_chapters(m4b)
    problems = chapter_problems(m4b)
    for name, got in (("chapter track", track), ("chpl", nero)):
        titles = [c.title for c in got]
        if titles != want:
            first = next((i for i, (a, b) in enumerate(zip(titles, want)) if a != b), min(len(titles), len(want)))
            problems.append(f"{name} titles differ from the parse: {len(got)} chapters, first difference at "
                            f"{first + 1}")
    return dg.AssetCheckResult(passed=not problems,
                               metadata={"quicktime_chapters": len(track), "chpl_chapters": len(nero),
                                         "parsed_chapters": len(want),
                                         "problems": "; ".join(problems) or "none"})


def loudness_check(m4b: Path, target: float = LOUDNESS_TARGET) -> dg.AssetCheckResult:
    """Integrated loudness within 1 LU of ``target``."""
    from e3.media.loudness import measure

    loud = measure(m4b)
    return dg.AssetCheckResult(passed=abs(loud.integrated_lufs - target) <= LOUDNESS_TOLERANCE,
                               metadata={"integrated_lufs": loud.integrated_lufs,
                                         "true_peak_dbtp": loud.true_peak_dbtp, "target_lufs": target})


def subtitle_check(srt: Path, m4b: Path) -> dg.AssetCheckResult:
    """Cues exist, each starts before it ends, none overlaps the next, the last ends in the audio."""
    from e3.narration.subtitles import parse_srt

    cues = parse_srt(srt.read_text(encoding="utf-8"))
    audio_end = _movie_seconds(m4b)
    monotonic = all(a.end <= b.start for a, b in zip(cues, cues[1:])) and all(c.start < c.end for c in cues)
    last_end = cues[-1].end if cues else 0.0
    return dg.AssetCheckResult(passed=bool(cues) and monotonic and last_end <= audio_end + 0.001,
                               metadata={"last_cue_end": last_end, "audio_end": round(audio_end, 3),
                                         "cues": len(cues), "monotonic": monotonic})


def _book_files(foundry: FoundryResource, book_id: str):
    paths = foundry.book(book_id)
    return paths, paths.m4b(book_id)


@dg.asset_check(asset=audiobook_m4b, partitions_def=books_partitions,
                description="Duration equals the chunks plus the pauses, within 0.5 s.")
def m4b_duration_matches_chunks(context: dg.AssetCheckExecutionContext,
                                foundry: FoundryResource) -> dg.AssetCheckResult:
    paths, m4b = _book_files(foundry, checked_book(context))
    return duration_check(m4b, json.loads(paths.audio_manifest.read_text(encoding="utf-8")))


@dg.asset_check(asset=audiobook_m4b, partitions_def=books_partitions,
                description="One chapter per parsed chapter with narration, with its title, in both the "
                            "QuickTime chapter track (Apple Books, iOS) and the Nero chpl box (others).")
def m4b_chapters_match_parse(context: dg.AssetCheckExecutionContext,
                             foundry: FoundryResource) -> dg.AssetCheckResult:
    paths, m4b = _book_files(foundry, checked_book(context))
    parsed = json.loads(paths.parse_metadata.read_text(encoding="utf-8"))
    return chapter_check(m4b, [c["title"] for c in parsed["chapters"] if c.get("words", 1) > 0])


@dg.asset_check(asset=audiobook_m4b, partitions_def=books_partitions,
                description=f"Integrated loudness within 1 LU of {LOUDNESS_TARGET} LUFS.")
def m4b_loudness_on_target(context: dg.AssetCheckExecutionContext,
                           foundry: FoundryResource) -> dg.AssetCheckResult:
    return loudness_check(_book_files(foundry, checked_book(context))[1])


@dg.asset_check(asset=subtitles, partitions_def=books_partitions,
                description="The last subtitle ends before the audio does; cues are monotonic.")
def subtitles_end_before_audio(context: dg.AssetCheckExecutionContext,
                               foundry: FoundryResource) -> dg.AssetCheckResult:
    book_id = checked_book(context)
    paths, m4b = _book_files(foundry, book_id)
    return subtitle_check(paths.srt(book_id), m4b)


checks = [m4b_duration_matches_chunks, m4b_chapters_match_parse, m4b_loudness_on_target, subtitles_end_before_audio]
