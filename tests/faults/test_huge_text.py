"""A 50 MB book on one line: `e3 inspect`, parsing and chunk planning stay bounded in memory and
lose no word. Each runs in a fresh process whose own peak RSS is measured; the time target is in
bench/chunk_huge.py (a ratio), not here."""

from __future__ import annotations

import hashlib
import json
import random
import re
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT

SIZE = 50_000_000
CEILING_MB = 500
WORDS = ("the keeper counted lamps along the quay and wrote them down in his book while rain fell "
         "on Mr. Bell in 1851 at St. Ives").split()

# The child's own peak: VmHWM of its address space. Not getrusage's ru_maxrss, which Linux carries
# over exec from the process that started it (here pytest, hundreds of MB after a full suite).
PEAK = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')).split()[1]) // 1024"
PLAN = f"""
import sys
from e3.books.chunking import write_chunk_plan
from e3.books.parse import parse_book
book = parse_book(sys.argv[1])
plan = write_chunk_plan(sys.argv[2], book.chapters, 400, book.language, book_id="huge")
print(plan.chunks, {PEAK})
"""
INSPECT = f"""
import sys
from e3.cli import main
main(["inspect", sys.argv[1]], standalone_mode=False)
print({PEAK})
"""


def _write_one_line(path, size: int) -> None:
    """Sentences of 5-25 words, all on one line, written as they are made."""
    rng = random.Random(7)
    with open(path, "w", encoding="utf-8") as fh:
        n = 0
        while n < size:
            s = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 25))).capitalize() + rng.choice(
                [". ", "; ", ", ", "! ", "? "])
            fh.write(s)
            n += len(s)


def _words_digest(words) -> str:
    h = hashlib.sha256()
    for w in words:
        h.update(w.encode() + b" ")
    return h.hexdigest()


def _plan_texts(path):
    """The display text of every body chunk, read line by line (the plan is about 200 MB of JSON;
    ``write_chunk_plan`` writes one key per line)."""
    heading = False
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith('      "paragraph_index": '):
                heading = line.strip().rstrip(",").endswith("-1")
            elif line.startswith('      "text": ') and not heading:
                yield json.loads(line[len('      "text": '):].rstrip().rstrip(","))


def _run(script: str, *args) -> list[str]:
    run = subprocess.run([sys.executable, "-c", script, *map(str, args)], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout.split()


@pytest.fixture(scope="module")
def one_line_book(tmp_path_factory):
    path = tmp_path_factory.mktemp("huge") / "one-line.txt"
    _write_one_line(path, SIZE)
    return path


@pytest.mark.slow
def test_a_50_mb_line_is_parsed_and_chunked_under_500_mb_with_every_word(one_line_book, tmp_path):
    plan = tmp_path / "chunks.json"
    chunks, peak_mb = map(int, _run(PLAN, one_line_book, plan))
    assert peak_mb < CEILING_MB, f"parsing and chunking 50 MB peaked at {peak_mb} MB"
    assert chunks > 100_000
    source = one_line_book.read_text(encoding="utf-8")
    expected = _words_digest(m.group() for m in re.finditer(r"\S+", source))
    del source
    got = _words_digest(w for text in _plan_texts(plan) for w in text.split())
    assert got == expected, "the chunks' words are not the book's words, in order"


@pytest.mark.slow
def test_e3_inspect_of_a_50_mb_line_stays_under_500_mb(one_line_book):
    out = _run(INSPECT, one_line_book)
    assert int(out[-1]) < CEILING_MB, f"e3 inspect of 50 MB peaked at {out[-1]} MB"
    assert "words" in " ".join(out)
