"""The m4b chapter check fails on deliberately broken files, and passes on a good one."""

import subprocess

from e3.media.chapters import ChapterMark, ffmetadata
from e3.media.ffmpeg import ffmpeg_exe
from e3.media.m4b import Segment, assemble_m4b
from e3_assets.narration.asset_checks import chapter_check


def _tone(path, seconds, freq=220):
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=f={freq}:r=22050:d={seconds}", "-c:a", "flac", str(path)], check=True)
    return path


def test_chapter_check_passes_a_good_m4b_and_fails_broken_ones(tmp_path):
    a, b = _tone(tmp_path / "a.flac", 90), _tone(tmp_path / "b.flac", 20, 330)
    good = assemble_m4b([Segment(a, 1.0, 0), Segment(b, 0.0, 1)], ["Loomings", "The Carpet-Bag"],
                        {"title": "T"}, None, tmp_path / "good.m4b", loudness_target=None,
                        measure_output=False).path
    assert chapter_check(good, ["Loomings", "The Carpet-Bag"]).passed
    # the titles are compared, not only counted
    wrong = chapter_check(good, ["Loomings", "The Spouter-Inn"])
    assert not wrong.passed and "titles differ" in wrong.metadata["problems"].value
    assert not chapter_check(good, ["Loomings"]).passed

    # what the ipod muxer writes from ADTS without E3's fix: the 91-second chapter is dropped
    # from the QuickTime track while chpl keeps it
    adts = tmp_path / "j.aac"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(good), "-map", "0:a", "-c", "copy",
                    "-f", "adts", str(adts)], check=True)
    meta = tmp_path / "m.txt"
    meta.write_text(ffmetadata([ChapterMark("Loomings", 0, 91), ChapterMark("The Carpet-Bag", 91, 111)]))
    broken = tmp_path / "broken.m4b"
    subprocess.run([ffmpeg_exe(), "-v", "quiet", "-y", "-i", str(adts), "-f", "ffmetadata", "-i", str(meta),
                    "-map", "0:a", "-map_chapters", "1", "-c", "copy", "-f", "ipod", str(broken)], check=True)
    res = chapter_check(broken, ["Loomings", "The Carpet-Bag"])
    assert not res.passed and res.metadata["quicktime_chapters"].value == 1


def test_duration_loudness_and_subtitle_checks_fail_on_broken_outputs(tmp_path):
    from e3_assets.narration.asset_checks import duration_check, loudness_check, subtitle_check
    from tests.media.helpers import speech_like

    a = speech_like(tmp_path / "a.flac", 4.0, level=0.3)
    b = speech_like(tmp_path / "b.flac", 3.0, seed=2, level=0.3)
    res = assemble_m4b([Segment(a, 0.5, 0), Segment(b, 0.0, 1)], ["One", "Two"], None, None,
                       tmp_path / "ok.m4b", loudness_target=-18.0, measure_output=False)
    manifest = {"chunks": [{"duration": 4.0, "pause_after": 0.5}, {"duration": 3.0, "pause_after": 0.0}]}
    assert duration_check(res.path, manifest).passed
    longer = {"chunks": manifest["chunks"] + [{"duration": 2.0, "pause_after": 0.0}]}
    assert not duration_check(res.path, longer).passed  # a chunk missing from the m4b
    assert loudness_check(res.path).passed
    assert not loudness_check(res.path, target=-30.0).passed  # far off the target
    srt = tmp_path / "ok.srt"
    srt.write_text("1\n00:00:00,100 --> 00:00:02,000\nOne\n\n2\n00:00:02,000 --> 00:00:07,000\nTwo\n")
    assert subtitle_check(srt, res.path).passed
    overlapping = tmp_path / "bad.srt"
    overlapping.write_text("1\n00:00:00,100 --> 00:00:03,000\nOne\n\n2\n00:00:02,000 --> 00:00:05,000\nTwo\n")
    assert not subtitle_check(overlapping, res.path).passed
    beyond = tmp_path / "late.srt"
    beyond.write_text("1\n00:00:00,100 --> 00:00:09,000\nOne\n")
    assert not subtitle_check(beyond, res.path).passed
    empty = tmp_path / "empty.srt"
    empty.write_text("")
    assert not subtitle_check(empty, res.path).passed
