"""Asset checks on the audiobook: duration, chapters, loudness and subtitle timing."""

import json
import warnings

import dagster as dg

# Partitioned checks are "preview" in 1.13; they are what makes "Execute all" work per book.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")

from e3.media.ffmpeg import probe_duration
from e3_assets.partitions import books_partitions
from e3_assets.narration.assets import LOUDNESS_TARGET, MANIFEST, audiobook_m4b, subtitles
from e3_resources.foundry import FoundryResource


def _m4b_info(foundry: FoundryResource, book_id: str) -> tuple[dict, object]:
    paths = foundry.book(book_id)
    sidecar = paths.m4b(book_id).with_name(f"{book_id}.m4b.json")
    return json.loads(sidecar.read_text(encoding="utf-8")), paths


@dg.asset_check(asset=audiobook_m4b, partitions_def=books_partitions, description="Duration equals the chunks plus the pauses, within 0.5 s.")
def m4b_duration_matches_chunks(context: dg.AssetCheckExecutionContext,
                                foundry: FoundryResource) -> dg.AssetCheckResult:
    book_id = context.partition_key
    info, paths = _m4b_info(foundry, book_id)
    actual = probe_duration(paths.m4b(book_id))
    manifest = json.loads((paths.audiobook / MANIFEST).read_text(encoding="utf-8"))
    chunks = manifest["chunks"]
    expected = sum(c["duration"] for c in chunks) + sum(c["pause_after"] for c in chunks[:-1])
    return dg.AssetCheckResult(passed=abs(actual - expected) <= 0.5,
                               metadata={"actual": round(actual, 3), "expected": round(expected, 3)})


@dg.asset_check(asset=audiobook_m4b, partitions_def=books_partitions,
                description="One chapter per parsed chapter with narration, with its title, in both the "
                            "QuickTime chapter track (Apple Books, iOS) and the Nero chpl box (others).")
def m4b_chapters_match_parse(context: dg.AssetCheckExecutionContext,
                             foundry: FoundryResource) -> dg.AssetCheckResult:
    book_id = context.partition_key
    _, paths = _m4b_info(foundry, book_id)
    parsed = json.loads(paths.parse_metadata.read_text(encoding="utf-8"))
    return chapter_check(paths.m4b(book_id), [c["title"] for c in parsed["chapters"] if c.get("words", 1) > 0])


def chapter_check(m4b, expected_titles: list[str]) -> dg.AssetCheckResult:
    """Pass only when both chapter lists in ``m4b`` hold exactly ``expected_titles``, in order,
    and agree on their start times."""
    from e3.media.chapters import chapter_title
    from e3.media.mp4boxes import chapter_problems, nero_chapters, quicktime_chapters

    want = [chapter_title(t) for t in expected_titles]
    track, nero = quicktime_chapters(m4b), nero_chapters(m4b)
    problems = chapter_problems(m4b)
    for name, got in (("chapter track", track), ("chpl", nero)):
        if [c.title for c in got] != want:
            problems.append(f"{name} titles differ from the parse: {len(got)} chapters, first "
                            f"difference at {next((i + 1 for i, (a, b) in enumerate(zip([c.title for c in got], want)) if a != b), min(len(got), len(want)) + 1)}")
    return dg.AssetCheckResult(passed=not problems,
                               metadata={"quicktime_chapters": len(track), "chpl_chapters": len(nero),
                                         "parsed_chapters": len(want),
                                         "problems": "; ".join(problems) or "none"})


@dg.asset_check(asset=audiobook_m4b, partitions_def=books_partitions, description=f"Integrated loudness within 1 LU of {LOUDNESS_TARGET} LUFS.")
def m4b_loudness_on_target(context: dg.AssetCheckExecutionContext,
                           foundry: FoundryResource) -> dg.AssetCheckResult:
    from e3.media.loudness import measure

    book_id = context.partition_key
    _, paths = _m4b_info(foundry, book_id)
    loud = measure(paths.m4b(book_id))
    return dg.AssetCheckResult(passed=abs(loud.integrated_lufs - LOUDNESS_TARGET) <= 1.0,
                               metadata={"integrated_lufs": loud.integrated_lufs,
                                         "true_peak_dbtp": loud.true_peak_dbtp})


@dg.asset_check(asset=subtitles, partitions_def=books_partitions, description="The last subtitle ends before the audio does; cues are monotonic.")
def subtitles_end_before_audio(context: dg.AssetCheckExecutionContext,
                               foundry: FoundryResource) -> dg.AssetCheckResult:
    from e3.narration.subtitles import parse_srt

    book_id = context.partition_key
    _, paths = _m4b_info(foundry, book_id)
    cues = parse_srt((paths.subtitles / f"{book_id}.srt").read_text(encoding="utf-8"))
    audio_end = probe_duration(paths.m4b(book_id))
    monotonic = all(a.end <= b.start for a, b in zip(cues, cues[1:])) and all(c.start < c.end for c in cues)
    last_end = cues[-1].end if cues else 0.0
    return dg.AssetCheckResult(passed=bool(cues) and monotonic and last_end <= audio_end,
                               metadata={"last_cue_end": last_end, "audio_end": round(audio_end, 3),
                                         "cues": len(cues), "monotonic": monotonic})


checks = [m4b_duration_matches_chunks, m4b_chapters_match_parse, m4b_loudness_on_target, subtitles_end_before_audio]
