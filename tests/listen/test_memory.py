"""Transcribing a 30-minute file streams it: `e3 transcribe`, run as a user runs it in a process
of its own, stays under 600 MB (its whole process tree, ffmpeg included)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from tests.conftest import corpus_file

pytestmark = pytest.mark.slow
MINUTES = float(os.environ.get("E3_TEST_ASR_MINUTES", "30"))


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


@pytest.mark.timeout(3600)
def test_thirty_minutes_transcribe_in_flat_memory(e3_env, asr_model_dir, capsys):
    from e3.media.ffmpeg import ffmpeg_exe, probe_duration
    from e3.narration.subtitles import parse_srt

    folder = corpus_file("audio/ljspeech_mp3_folder")
    clips = sorted(folder.glob("*.mp3"))
    listing = e3_env / "list.txt"
    listing.write_text("".join(f"file '{c}'\n" for _ in range(int(MINUTES * 60 / 200) + 2) for c in clips))
    long = e3_env / "long.m4a"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                    "-t", str(MINUTES * 60), "-c:a", "aac", "-b:a", "48k", str(long)], check=True)
    assert probe_duration(long) == pytest.approx(MINUTES * 60, abs=1)
    began = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "e3.cli", "transcribe", str(long)],
                             env={**os.environ, "E3_ASR_MODEL": str(asr_model_dir)},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, proc = 0, psutil.Process(child.pid)
    while child.poll() is None:
        peak = max(peak, _tree_rss(proc))
        time.sleep(0.2)
    out, err = child.communicate()
    wall = time.monotonic() - began
    assert child.returncode == 0, err[-2000:]
    words = len(long.with_suffix(".txt").read_text(encoding="utf-8").split())
    with capsys.disabled():
        print(f"\n{MINUTES:.0f} min transcribed in {wall:.0f} s ({wall / MINUTES:.1f} s per audio minute), "
              f"peak {peak / 2**20:.0f} MB, {words} words")
    assert peak / 2**20 < 600, f"peak {peak / 2**20:.0f} MB"
    cues = parse_srt(long.with_suffix(".srt").read_text(encoding="utf-8"))
    assert cues[-1].end > MINUTES * 60 - 30 and words > MINUTES * 100
