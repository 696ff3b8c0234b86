"""Real work as a user runs it: a real book of 45+ minutes through `e3 add` + `e3 produce`, a
60-minute channel video through `e3 video new` + `e3 video produce`, and an `e3 merge` of
multi-minute files, each read back by independent readers (see readers.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mutagen.flac import FLAC
from mutagen.mp4 import MP4

from e3.media.mp4boxes import chapter_problems, nero_chapters, quicktime_chapters, tracks
from tests.conftest import corpus_file
from tests.realwork.readers import decode_errors, decoded_seconds, read_srt

# Real lengths take real time: a two-hour play is voiced on two cores in about a quarter hour.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


def e3(*args: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "e3.cli", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"e3 {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _movie_seconds(path: Path) -> float:
    snd = next(t for t in tracks(path) if t.handler == "soun")
    return sum(snd.sample_durations) / snd.timescale


def test_a_real_book_becomes_a_chaptered_tagged_m4b_subtitles_and_video(e3_env):
    src = corpus_file("epub/se_macbeth_epub3_acts-scenes.epub")
    e3("add", str(src), "--book-id", "macbeth")
    e3("produce", "macbeth")

    book = e3_env / "foundry" / "macbeth"
    m4b = book / "audiobook" / "combined" / "macbeth.m4b"
    # the whole file decodes, to the length its chunks and pauses add up to
    assert decode_errors(m4b) == ""
    seconds = decoded_seconds(m4b)
    assert seconds >= 45 * 60, f"only {seconds / 60:.1f} minutes of narration"
    manifest = json.loads((book / "audiobook" / "audio_manifest.json").read_text())
    chunk_seconds = 0.0
    for entry in manifest["chunks"]:
        info = FLAC(str(book / "audiobook" / "audio_chunks" / entry["file"])).info
        chunk_seconds += info.total_samples / info.sample_rate
    pauses = sum(e["pause_after"] for e in manifest["chunks"][:-1])
    assert seconds == pytest.approx(chunk_seconds + pauses, abs=0.5)
    assert _movie_seconds(m4b) == pytest.approx(seconds, abs=0.5)

    # chapters: the parse's titles, in the QuickTime track Apple reads and in chpl
    parsed = [json.loads(p.read_text())["title"] for p in sorted((book / "audiobook" / "chapters").glob("*.json"))]
    qt, nero = quicktime_chapters(m4b), nero_chapters(m4b)
    assert [c.title for c in qt] == parsed and [c.title for c in nero] == parsed
    assert chapter_problems(m4b) == []
    assert qt[-1].end == pytest.approx(seconds, abs=0.5)
    assert all(b.start > a.start for a, b in zip(qt, qt[1:]))

    # tags are the book's own
    tags = MP4(str(m4b)).tags
    assert tags["\xa9nam"] == ["Macbeth"] and tags["\xa9alb"] == ["Macbeth"]
    assert tags["\xa9ART"] == ["William Shakespeare"] and tags["aART"] == ["William Shakespeare"]
    assert tags["\xa9nrt"] and tags["\xa9gen"] and tags["covr"]
    assert "\xa9day" not in tags or tags["\xa9day"][0] != "2021"  # the EPUB's packaging year is not the play's

    # subtitles: well-formed, monotonic, inside the audio, covering the book
    cues = read_srt(book / "audiobook" / "subtitles" / "macbeth.srt")
    assert len(cues) > 500 and [c.index for c in cues] == list(range(1, len(cues) + 1))
    assert all(c.start < c.end for c in cues) and all(a.end <= b.start for a, b in zip(cues, cues[1:]))
    assert cues[-1].end <= seconds and cues[-1].end > seconds - 60
    assert all(len(line) <= 42 for c in cues for line in c.text.splitlines())

    # the video: as long as the m4b, with the same chapters, decodes whole
    video = book / "videos" / "macbeth.mp4"
    assert decode_errors(video) == ""
    assert decoded_seconds(video) == pytest.approx(seconds, abs=1.0)
    assert [c.title for c in quicktime_chapters(video)] == parsed
    assert chapter_problems(video) == []

    status = json.loads(e3("status", "macbeth", "--json").stdout)
    assert status["status"] == "completed", status
    assert status["audiobook_complete"] and status["video_generation_status"] == "completed"
    assert status["title"] == "Macbeth" and status["author"] == "William Shakespeare"


def test_a_60_minute_channel_video(e3_env):
    e3("channel", "add", "Night Library", "--niche", "Royal Court Ambience")
    key = e3("video", "new", "--channel", "Night Library", "--minutes", "60",
             "--mood", "calm, candlelit").stdout.strip().split()[-1]
    assert key.startswith("vj-")
    e3("video", "produce", key)
    status = json.loads(e3("video", "status", key, "--json").stdout)
    assert status["status"] == "ready_for_export", status
    video = Path(status["video"])
    assert decode_errors(video, video=True) == ""
    seconds = decoded_seconds(video)
    assert 3600 <= seconds <= 3600 + 10, f"{seconds / 60:.2f} minutes for a 60-minute video"
    vid = next(t for t in tracks(video) if t.handler == "vide")
    assert sum(vid.sample_durations) / vid.timescale == pytest.approx(seconds, abs=0.5)
    from e3.video.render import probe_video

    info = probe_video(video)
    assert (info["width"], info["height"]) == (1920, 1080)
    qt = quicktime_chapters(video)
    assert len(qt) == 20 and chapter_problems(video) == []
    assert all(b.start > a.start for a, b in zip(qt, qt[1:]))


def _speech_minutes(out: Path, minutes: float, seed: int, corpus_mp3s: list[Path]) -> Path:
    """A few minutes of real speech: the corpus's LJ Speech clips in a seeded order, as one MP3."""
    from e3.media.ffmpeg import ffmpeg_exe
    import random

    clips = list(corpus_mp3s)
    random.Random(seed).shuffle(clips)
    lst = out.with_suffix(".txt")
    total, lines = 0.0, []
    while total < minutes * 60:
        for c in clips:
            lines.append(f"file '{c}'")
            total += 6.5
    lst.write_text("\n".join(lines) + "\n")
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(lst),
                    "-t", f"{minutes * 60:.1f}", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "96k", str(out)],
                   check=True)
    lst.unlink()
    return out


def test_a_merge_of_multi_minute_files(e3_env, monkeypatch):
    lj = corpus_file("audio/ljspeech_mp3_folder")
    mp3s = sorted(lj.glob("*.mp3"))
    root = e3_env / "library"
    part1, part2 = root / "Part One", root / "Part Two"
    part1.mkdir(parents=True)
    part2.mkdir()
    lengths = {part1: [3.0, 4.5, 2.5], part2: [5.0, 3.5]}
    for folder, mins in lengths.items():
        for i, m in enumerate(mins, start=1):
            _speech_minutes(folder / f"{folder.name} - {i:02d}.mp3", m, seed=i + len(folder.name), corpus_mp3s=mp3s)
    monkeypatch.setenv("E3_MERGE_ROOTS", str(root))
    expected = sum(sum(m) for m in lengths.values()) * 60

    out = e3_env / "out" / "per-file.m4b"
    e3("merge", str(part1), str(part2), "-o", str(out), "--no-progress")
    assert decode_errors(out) == ""
    assert decoded_seconds(out) == pytest.approx(expected, abs=1.0)
    qt = quicktime_chapters(out)
    assert len(qt) == 5 and chapter_problems(out) == []
    starts = [0.0, 180.0, 450.0, 600.0, 900.0]
    assert [c.start for c in qt] == pytest.approx(starts, abs=0.2)

    # one chapter per folder: both lists, ffmpeg's reading and mutagen's agree on titles and times
    out2 = e3_env / "out" / "per-folder.m4b"
    e3("merge", str(part2), str(part1), "-o", str(out2), "--chapters", "per-folder", "--no-progress")
    qt2, nero2 = quicktime_chapters(out2), nero_chapters(out2)
    assert [c.title for c in qt2] == ["Part Two", "Part One"] == [c.title for c in nero2]
    assert [c.start for c in qt2] == pytest.approx([0.0, 510.0], abs=0.2)
    from e3.media.chapters import read_chapters

    ff = read_chapters(out2)
    mut = MP4(str(out2)).chapters
    assert [c.title for c in ff] == ["Part Two", "Part One"] == [c.title for c in mut]
    assert [c.start for c in ff] == pytest.approx([c.start for c in mut], abs=0.05)
    assert chapter_problems(out2) == []
