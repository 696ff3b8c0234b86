"""Chunk planning stays linear on hostile input: one paragraph of 50 MB on one line.

Targets (issue: one huge paragraph made narration_chunks run for hours): 50 MB chunked in under
a minute with the process's peak memory under 500 MB. Each size runs in a fresh process that plans
the chunks into a chunks.json (``write_chunk_plan``, as the narration_chunks asset does). Baseline,
measured in the same run: the same planner on 1 MB, scaled up to the big size (a linear planner's
time); the ratio printed is the big time over that, so 1.0 means perfectly linear on this machine
at this moment. CPU seconds are printed beside wall seconds: on a shared machine the wall clock
also counts the time spent waiting for a core, so the one-minute target is read against CPU time.
Run: ``python bench/chunk_huge.py [megabytes]``.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[3])
from bench.chunk_huge import one_line
from e3.books.chunking import write_chunk_plan
from e3.books.model import Chapter
text = one_line(int(float(sys.argv[1]) * 1_000_000))
wall, cpu = time.perf_counter(), time.process_time()
plan = write_chunk_plan(sys.argv[2], [Chapter(title="One", paragraphs=[text])], 400, book_id="bench")
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "chunks": plan.chunks,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def one_line(size: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    words = ("the keeper counted lamps along the quay and wrote them down in his book while rain fell "
             "on Mr. Bell in 1851 at St. Ives").split()
    parts, n = [], 0
    while n < size:
        s = " ".join(rng.choice(words) for _ in range(rng.randint(5, 25))).capitalize() + rng.choice(
            [". ", "; ", ", ", "! ", "? "])
        parts.append(s)
        n += len(s)
    return "".join(parts)


def measure(mb: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", CHILD, str(mb), str(Path(tmp) / "chunks.json"), str(ROOT)],
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    mb = float(sys.argv[1]) if len(sys.argv) > 1 else 50.0
    base = measure(1.0)
    big = measure(mb)
    print(f"1 MB: {base['wall']:.2f} s wall, {base['cpu']:.2f} s CPU")
    print(f"{mb:g} MB: {big['wall']:.1f} s wall, {big['cpu']:.1f} s CPU, {big['chunks']} chunks, "
          f"peak RSS {big['peak_mb']:.0f} MB (the text itself: {mb:g} MB)")
    print(f"ratio to linear: {big['cpu'] / (base['cpu'] * mb):.2f} CPU, {big['wall'] / (base['wall'] * mb):.2f} wall")
    print(f"against the targets: {big['cpu'] / 60:.2f} of the minute (CPU), {big['wall'] / 60:.2f} (wall); "
          f"{big['peak_mb'] / 500:.2f} of the 500 MB ceiling")


if __name__ == "__main__":
    main()
