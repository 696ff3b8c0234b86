"""Benchmark: merge HOURS of generated MP3s (default 20 h = 200 files of 6 min) into an m4b.

Compares ``collect_inputs`` + ``run_merge`` (exact probe, chunked parallel encode, copy-join)
with one single-pass re-encode of all files in one ffmpeg command (the seed merger's approach),
measured in the same run, and prints the speedup and the peak RSS of the process tree.
``--coder fast`` also times ffmpeg's cheaper ``-aac_coder fast``.

    python bench/merge.py [--hours 20] [--files 200] [--coder fast]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bench/ holds other scripts (e.g. queue.py) that would shadow the stdlib: import from the root.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

import threading  # noqa: E402

import psutil  # noqa: E402

from e3.media.ffmpeg import ffmpeg_exe  # noqa: E402
from e3.merge.plan import collect_inputs  # noqa: E402
from e3.merge.run import run_merge  # noqa: E402


def make_mp3s(folder: Path, files: int, seconds: float) -> None:
    distinct = []
    for i in range(min(4, files)):
        p = folder / f".src{i}.mp3"
        graph = (f"aevalsrc='0.2*(0.6*sin(2*PI*{120 + 9 * i}*t)+0.3*sin(2*PI*{240 + 18 * i}*t))"
                 f"*(0.15+0.85*abs(sin(2*PI*1.9*t)))':s=22050:d={seconds}[v];"
                 f"anoisesrc=c=pink:r=22050:a=0.03:d={seconds}:seed={i + 1},lowpass=3500[n];"
                 "[v][n]amix=inputs=2:normalize=0[o]")
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-filter_complex", graph, "-map", "[o]",
                        "-c:a", "libmp3lame", "-b:a", "48k", str(p)], check=True)
        distinct.append(p)
    for i in range(files):
        os.link(distinct[i % len(distinct)], folder / f"{i + 1:03d} - Part {i + 1}.mp3")
    for p in distinct:
        p.rename(p.with_name(p.name[1:] + ".unused"))


class PeakMemory:
    """Peak RSS of this process plus all its children, polled in a thread."""

    def __init__(self, interval: float = 0.05):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    def _poll(self):
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(self.interval)

    def __enter__(self):
        self.peak = 0
        self._stop.clear()
        self._t = threading.Thread(target=self._poll, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()

    @property
    def mb(self) -> float:
        return self.peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=20.0)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--coder", default=None, help="also time this -aac_coder (e.g. fast)")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="e3bench-merge-", dir=args.workdir))
    try:
        src = work / "mp3"
        src.mkdir()
        seconds = args.hours * 3600 / args.files
        t = time.perf_counter()
        make_mp3s(src, args.files, seconds)
        print(f"generated {args.files} MP3s of {seconds / 60:.1f} min in {time.perf_counter() - t:.1f}s")
        files = sorted(src.glob("*.mp3"))

        lst = work / "list.txt"
        lst.write_text("".join(f"file '{p}'\n" for p in files))
        with PeakMemory() as mem_base:
            t = time.perf_counter()
            subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(lst),
                            "-c:a", "aac", "-b:a", "64k", "-f", "ipod", str(work / "single.m4b")], check=True)
            base = time.perf_counter() - t
        print(f"single-pass re-encode: {base:.1f}s, peak {mem_base.mb:.0f} MB")

        runs = [None] + ([args.coder] if args.coder else [])
        for coder in runs:
            with PeakMemory() as mem:
                t = time.perf_counter()
                plan = collect_inputs([src])
                t_probe = time.perf_counter() - t
                res = run_merge(plan, work / f"merged-{coder or 'default'}.m4b", aac_coder=coder)
                ours = time.perf_counter() - t
            print(f"run_merge (aac_coder={coder or 'twoloop'}): {ours:.1f}s (probe {t_probe:.1f}s), "
                  f"{len(res.chapters)} chapters, {res.duration / 3600:.2f} h, peak {mem.mb:.0f} MB")
            print(f"  speedup vs single pass: {base / ours:.2f}x (target >= 2x), cores={os.cpu_count()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
