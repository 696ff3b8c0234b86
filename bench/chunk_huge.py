"""Chunk planning stays linear on hostile input: one paragraph of 50 MB on one line.

Targets (issue: one huge paragraph made narration_chunks run for hours): 50 MB chunked in under
a minute with the process's peak memory under 500 MB. Baseline, measured in the same run: the
same planner on 1 MB, scaled up 50x (a linear planner's 50 MB time); the ratio printed is the
50 MB time over that, so 1.0 means perfectly linear on this machine at this moment.
Run: ``python bench/chunk_huge.py [megabytes]``.
"""

from __future__ import annotations

import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from e3.books.chunking import plan_chunks  # noqa: E402
from e3.books.model import Chapter  # noqa: E402


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


def timed(text: str) -> tuple[float, int]:
    t = time.perf_counter()
    chunks = plan_chunks([Chapter(title="One", paragraphs=[text])], max_chars=400)
    return time.perf_counter() - t, len(chunks)


def main() -> None:
    mb = float(sys.argv[1]) if len(sys.argv) > 1 else 50.0
    base_s, _ = timed(one_line(1_000_000))
    big = one_line(int(mb * 1_000_000))
    big_s, n = timed(big)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"1 MB: {base_s:.2f} s; {mb:g} MB: {big_s:.1f} s, {n} chunks; peak RSS {peak_mb:.0f} MB")
    print(f"ratio to linear: {big_s / (base_s * mb):.2f}  (target: {mb:g} MB under 60 s, peak under 500 MB)")


if __name__ == "__main__":
    main()
