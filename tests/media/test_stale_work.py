"""Work folders and .part files of a killed run are removed by the next run; a live run's stay."""

import os
import subprocess
import sys

from e3.fsutil import remove_stale_work, tmp_path_for, work_dir
from e3.media.m4b import Segment, assemble_m4b
from tests.media.helpers import speech_like


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_killed_runs_leftovers_go_and_a_live_runs_stay(tmp_path):
    combined = tmp_path / "combined"
    mine = work_dir(combined, "m4b")  # this process is alive
    dead = _dead_pid()
    host_tag = mine.name.split("-")[2].split("~")[0]
    stale_dir = combined / f".e3-m4b-{host_tag}~{dead}-abc"
    stale_dir.mkdir()
    (stale_dir / "joined.aac").write_bytes(b"x" * 100)
    stale_part = combined / f".book.{host_tag}~{dead}.xyz.part.m4b"
    stale_part.write_bytes(b"half")
    foreign = combined / ".e3-m4b-otherhost~12-abc"  # another host's run, recent: kept
    foreign.mkdir()
    live_part = tmp_path_for(combined / "book.m4b")
    unowned = combined / ".notes.txt"
    unowned.write_text("mine")
    assert remove_stale_work(combined) == 2
    assert not stale_dir.exists() and not stale_part.exists()
    assert mine.is_dir() and foreign.is_dir() and live_part.exists() and unowned.exists()
    os.utime(foreign, (1, 1))  # a day old: its host is taken to be gone
    assert remove_stale_work(combined) == 1 and not foreign.exists()


def test_assembly_clears_what_a_killed_assembly_left(tmp_path):
    a = speech_like(tmp_path / "a.flac", 1.0)
    out = tmp_path / "combined" / "b.m4b"
    out.parent.mkdir()
    host_tag = work_dir(tmp_path, "probe").name.split("-")[2].split("~")[0]
    left = out.parent / f".e3-m4b-{host_tag}~{_dead_pid()}-k1"
    left.mkdir()
    (left / "p00001.aac").write_bytes(b"\xff" * 1000)
    assemble_m4b([Segment(a, 0.0, 0)], ["One"], None, None, out, loudness_target=None, measure_output=False)
    assert out.is_file() and not left.exists()
    assert [p.name for p in out.parent.iterdir()] == ["b.m4b"]
