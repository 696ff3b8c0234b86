"""Asset checks on the audiobook: duration, chapters, loudness and subtitle timing."""

import json

import dagster as dg

from e3.media.ffmpeg import probe_duration
from e3_assets.narration.assets import LOUDNESS_TARGET, MANIFEST, audiobook_m4b, subtitles
from e3_resources.foundry import FoundryResource


def _m4b_info(foundry: FoundryResource, book_id: str) -> tuple[dict, object]:
    paths = foundry.book(book_id)
    sidecar = paths.m4b(book_id).with_name(f"{book_id}.m4b.json")
    return json.loads(sidecar.read_text(encoding="utf-8")), paths


@dg.asset_check(asset=audiobook_m4b, description="Duration equals the chunks plus the pauses, within 0.5 s.")
def m4b_duration_matches_chunks(context: dg.AssetCheckExecutionContext,
                                foundry: FoundryResource) -> dg.AssetCheckResult:
    book_id = context.partition_key if context.has_partition_key else None
    info, paths = _m4b_info(foundry, book_id)
    actual = probe_duration(paths.m4b(book_id))
    manifest = json.loads((paths.audiobook / MANIFEST).read_text(encoding="utf-8"))
    chunks = manifest["chunks"]
    expected = sum(c["duration"] for c in chunks) + sum(c["pause_after"] for c in chunks[:-1])
    return dg.AssetCheckResult(passed=abs(actual - expected) <= 0.5,
                               metadata={"actual": round(actual, 3), "expected": round(expected, 3)})


@dg.asset_check(asset=audiobook_m4b, description="One chapter marker per parsed chapter that has narration.")
def m4b_chapters_match_parse(context: dg.AssetCheckExecutionContext,
                             foundry: FoundryResource) -> dg.AssetCheckResult:
    from e3.media.chapters import read_chapters

    book_id = context.partition_key
    _, paths = _m4b_info(foundry, book_id)
    parsed = json.loads(paths.parse_metadata.read_text(encoding="utf-8"))
    narrated = [c for c in parsed["chapters"] if c.get("words", 1) > 0]
    marks = read_chapters(paths.m4b(book_id))
    titles_match = [m.title for m in marks] == [c["title"] for c in narrated] or len(marks) == len(narrated)
    return dg.AssetCheckResult(passed=len(marks) == len(narrated) and titles_match,
                               metadata={"m4b_chapters": len(marks), "parsed_chapters": len(narrated)})


@dg.asset_check(asset=audiobook_m4b, description=f"Integrated loudness within 1 LU of {LOUDNESS_TARGET} LUFS.")
def m4b_loudness_on_target(context: dg.AssetCheckExecutionContext,
                           foundry: FoundryResource) -> dg.AssetCheckResult:
    from e3.media.loudness import measure

    book_id = context.partition_key
    _, paths = _m4b_info(foundry, book_id)
    loud = measure(paths.m4b(book_id))
    return dg.AssetCheckResult(passed=abs(loud.integrated_lufs - LOUDNESS_TARGET) <= 1.0,
                               metadata={"integrated_lufs": loud.integrated_lufs,
                                         "true_peak_dbtp": loud.true_peak_dbtp})


@dg.asset_check(asset=subtitles, description="The last subtitle ends before the audio does; cues are monotonic.")
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
