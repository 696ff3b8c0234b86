"""Killing `e3 produce` midway (a real SIGKILL of its process group) and running it again
completes the book, losing at most the chunks that were in flight."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from e3.catalog.status import book_status
from e3.demo_book import write_epub
from tests.pipeline.helpers import catalog_engine

PARAGRAPHS = [f"Paragraph {n} of the test: the keeper counted the lamps along the quay and wrote them down."
              for n in range(1, 9)]


def _e3(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "e3.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True, **kw)


@pytest.mark.slow
def test_kill_midway_then_rerun_completes(e3_env):
    src = write_epub(e3_env / "src" / "lamps.epub", "Lamps", "E3 Tests",
                     [("One", PARAGRAPHS[:4]), ("Two", PARAGRAPHS[4:])])
    assert subprocess.run([sys.executable, "-m", "e3.cli", "add", str(src), "--book-id", "lamps"],
                          capture_output=True).returncode == 0
    proc = _e3("produce", "lamps")
    engine = catalog_engine()
    deadline = time.monotonic() + 240
    killed_at = None
    while time.monotonic() < deadline:
        status = book_status(engine, "lamps") or {}
        done, total = status.get("audio_jobs_completed") or 0, status.get("total_chunks") or 0
        if total and 1 <= done < total:
            os.killpg(proc.pid, signal.SIGKILL)
            killed_at = done
            break
        if proc.poll() is not None:
            pytest.fail("e3 produce finished before it could be killed:\n" + proc.stdout.read().decode())
        time.sleep(0.1)
    assert killed_at is not None, "never saw chunk progress to kill at"
    proc.wait(timeout=30)

    chunks_dir = e3_env / "foundry" / "lamps" / "audiobook" / "audio_chunks"
    finished = {p.stem for p in chunks_dir.glob("*.json") if not p.name.startswith(".")}
    total = book_status(engine, "lamps")["total_chunks"]
    assert killed_at <= len(finished) < total, "the kill must land while chunks are still being voiced"
    # No truncated file under a final name: every final audio file has its sidecar, and its
    # sidecar's sample count matches what the file decodes to.
    from e3.media.m4b import count_samples

    for audio in chunks_dir.glob("*.flac"):
        assert audio.stem in finished, f"{audio.name} has no sidecar: a half-written chunk survived"
        meta = json.loads(audio.with_suffix(".json").read_text())
        assert count_samples(audio) == meta["samples"]
    assert not (e3_env / "foundry" / "lamps" / "audiobook" / "combined" / "lamps.m4b").exists()

    rerun = subprocess.run([sys.executable, "-m", "e3.cli", "produce", "lamps"], capture_output=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout.decode() + rerun.stderr.decode()
    status = book_status(engine, "lamps")
    assert status["audio_combination_status"] == "completed" and status["audiobook_complete"]
    assert status["audio_jobs_completed"] == status["total_chunks"]
    # Chunks finished before the kill were reused, not synthesized again.
    assert finished <= {p.stem for p in chunks_dir.glob("*.json")}
    assert status["audio_jobs_completed"] == total
    assert Path(e3_env / "foundry" / "lamps" / "audiobook" / "combined" / "lamps.m4b").is_file()
