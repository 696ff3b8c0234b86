"""Benchmark: assemble an m4b from HOURS of one-minute FLAC chunks (default 10 h = 600 files).

Prints wall time of ``assemble_m4b`` (loudness measure + chunked parallel AAC encode + mux),
the ratio against one naive ``ffmpeg -f concat -i list -c:a aac`` re-encode of the same chunks
measured in the same run, and the peak RSS of the whole process tree for both.
Target: peak < 300 MB, independent of length.

    python bench/assemble.py [--hours 10] [--workdir /tmp/e3bench]
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



from e3.media.ffmpeg import ffmpeg_exe  # noqa: E402
from e3.procmem import PeakMemory  # noqa: E402
from e3.media.m4b import Segment, assemble_m4b  # noqa: E402

SPEECH = ("aevalsrc='0.05*(0.6*sin(2*PI*{f}*t)+0.3*sin(2*PI*{f2}*t))*(0.15+0.85*abs(sin(2*PI*1.9*t)))'"
          ":s=22050:d=60[v];anoisesrc=c=pink:r=22050:a=0.01:d=60:seed={seed},lowpass=3500[n];"
          "[v][n]amix=inputs=2:normalize=0[o]")


def make_chunks(folder: Path, count: int) -> list[Path]:
    distinct = []
    for i in range(min(8, count)):
        p = folder / f"src{i}.flac"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-filter_complex",
                        SPEECH.format(f=120 + 7 * i, f2=2 * (120 + 7 * i), seed=i + 1), "-map", "[o]",
                        "-c:a", "flac", str(p)], check=True)
        distinct.append(p)
    chunks = []
    for i in range(count):  # hard links: 600 distinct names without 600 encodes
        p = folder / f"chunk{i:05d}.flac"
        os.link(distinct[i % len(distinct)], p)
        chunks.append(p)
    return chunks


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=10.0)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="e3bench-asm-", dir=args.workdir))
    try:
        count = max(1, int(round(args.hours * 60)))
        t = time.perf_counter()
        chunks = make_chunks(work, count)
        print(f"generated {count} one-minute chunks in {time.perf_counter() - t:.1f}s")

        lst = work / "list.txt"
        lst.write_text("".join(f"file '{p}'\n" for p in chunks))
        with PeakMemory() as mem_naive:
            t = time.perf_counter()
            subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(lst),
                            "-c:a", "aac", "-b:a", "64k", str(work / "naive.m4a")], check=True)
            naive = time.perf_counter() - t
        print(f"naive concat re-encode: {naive:.1f}s, peak {mem_naive.mb:.0f} MB")

        segs = [Segment(p, 0.5 if i % 10 else 2.0, i // 10) for i, p in enumerate(chunks)]
        titles = [f"Chapter {i + 1}" for i in range((count + 9) // 10)]
        with PeakMemory() as mem:
            t = time.perf_counter()
            res = assemble_m4b(segs, titles, {"title": "Bench", "author": "E3"}, None, work / "book.m4b",
                               measure_output=False)
            ours = time.perf_counter() - t
        print(f"assemble_m4b: {ours:.1f}s for {res.duration / 3600:.2f} h of audio "
              f"({res.duration / ours:.0f}x real time), {res.pieces} pieces, {len(res.chapters)} chapters, "
              f"{res.size_bytes / 2**20:.0f} MB")
        print(f"ratio ours/naive: {ours / naive:.2f}  (ours includes the ebur128 loudness pass)")
        print(f"peak memory (process tree): ours {mem.mb:.0f} MB, naive {mem_naive.mb:.0f} MB "
              f"-> {'OK' if mem.mb < 300 else 'OVER'} (target < 300 MB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
