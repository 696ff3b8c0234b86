"""Transcribing a 30-minute file streams it: the process stays under 600 MB."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.conftest import corpus_file

pytestmark = pytest.mark.slow
MINUTES = float(os.environ.get("E3_TEST_ASR_MINUTES", "30"))


@pytest.mark.timeout(3600)
def test_thirty_minutes_transcribe_in_flat_memory(tmp_path, recognizer, capsys):
    from e3.media.ffmpeg import ffmpeg_exe, probe_duration
    from e3.narration.listen import transcribe_to_subtitles
    from e3.narration.subtitles import parse_srt
    from e3.procmem import PeakMemory

    folder = corpus_file("audio/ljspeech_mp3_folder")
    clips = sorted(folder.glob("*.mp3"))
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"file '{c}'\n" for _ in range(int(MINUTES * 60 / 200) + 2) for c in clips))
    long = tmp_path / "long.m4a"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                    "-t", str(MINUTES * 60), "-c:a", "aac", "-b:a", "48k", str(long)], check=True)
    assert probe_duration(long) == pytest.approx(MINUTES * 60, abs=1)
    began = time.monotonic()
    with PeakMemory(interval=0.2) as peak:
        summary = transcribe_to_subtitles(recognizer, long)
    wall = time.monotonic() - began
    with capsys.disabled():
        print(f"\n{MINUTES:.0f} min transcribed in {wall:.0f} s ({wall / MINUTES:.1f} s per audio minute), "
              f"peak {peak.mb:.0f} MB, {summary['words']} words")
    assert peak.mb < 600, f"peak {peak.mb:.0f} MB"
    cues = parse_srt(long.with_suffix(".srt").read_text(encoding="utf-8"))
    assert cues[-1].end > MINUTES * 60 - 30 and summary["words"] > MINUTES * 100
