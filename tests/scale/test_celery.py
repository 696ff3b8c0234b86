"""Steps of many runs, and one book's chapter batches, on two celery workers (two processes
standing for two hosts) over the local RabbitMQ, with the catalog and the Dagster instance on
Postgres and one foundry; a worker killed mid-batch loses only its chunks in flight."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import dagster as dg
import pytest

from e3.demo_book import write_epub
from tests.conftest import _pg_admin_engine
from tests.scale.celery_env import (
    Worker, book_chapters, broker_reachable, e3, e3_environment, purge_queue, step_workers, synth_log,
)

pytestmark = pytest.mark.slow
ASSETS = "book_source,parsed_chapters,narration_chunks,audio_chunks"
VOICE_STEP = "audio_chunks.voice_chunk_batch"


@pytest.fixture
def cluster(tmp_path, pg_url, monkeypatch):
    import sqlalchemy as sa

    reason = broker_reachable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set: celery tests must run)")
        pytest.skip(reason)
    dagster_db = f"e3_test_dg_{uuid.uuid4().hex[:10]}"
    env = e3_environment(tmp_path, pg_url, dagster_db, batches=2)
    for name, value in env.items():  # this process reads the same instance and catalog
        if name.startswith(("E3_", "DAGSTER_")):
            monkeypatch.setenv(name, value)
    workers = []
    try:
        assert e3(env, "init").returncode == 0
        # Two batches of one book at once: the tts pool gets one slot per worker host.
        subprocess.run([sys.executable, "-m", "dagster", "instance", "concurrency", "set", "tts", "2"],
                       env=env, check=True, capture_output=True, timeout=120)
        purge_queue()
        workers = [Worker(env, name, tmp_path / f"{name}.log") for name in ("w1", "w2")]
        for w in workers:
            w.wait_ready()
        yield env, workers
    finally:
        for w in workers:
            w.stop()
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                         {"n": dagster_db})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{dagster_db}"'))
        admin.dispose()


def _add(env, root, book_id: str, chapters) -> None:
    src = write_epub(root / "src" / f"{book_id}.epub", book_id.title(), "E3 Tests", chapters)
    added = e3(env, "add", str(src), "--book-id", book_id)
    assert added.returncode == 0, added.stderr


def _runs(instance, book_id: str):
    return instance.get_runs(dg.RunsFilter(tags={"dagster/partition": book_id}))


def _chunk_files(root, book_id: str) -> set[str]:
    """The chunk files of a book's manifest, as full paths (two books may share a file name)."""
    import json

    folder = (root / "foundry" / book_id / "audiobook").resolve()
    manifest = json.loads((folder / "audio_manifest.json").read_text())
    return {str(folder / "audio_chunks" / e["file"]) for e in manifest["chunks"]}


def test_three_books_and_a_long_books_batches_run_on_both_workers(cluster, tmp_path):
    env, _workers = cluster
    short = ["lamps", "tides", "bells"]
    for i, book_id in enumerate(short):
        _add(env, tmp_path, book_id, book_chapters(i, chapters=2, paragraphs=2, words=45))
    _add(env, tmp_path, "harbour", book_chapters(9, chapters=4, paragraphs=3, words=50))

    made = e3(env, "produce", *short, "--select", ASSETS)
    assert made.returncode == 0, made.stderr[-3000:]
    with dg.DagsterInstance.get() as instance:
        seen = set()
        for book_id in short:
            (run,) = _runs(instance, book_id)
            assert run.status == dg.DagsterRunStatus.SUCCESS and run.tags["e3/executor"] == "celery"
            by_step = step_workers(instance, run.run_id)
            assert {k for k in by_step if k.startswith(VOICE_STEP)}, by_step
            seen |= {w for names in by_step.values() for w in names}
        assert seen == {"w1", "w2"}  # steps of the three runs ran on both workers

        long_run = e3(env, "produce", "harbour", "--select", ASSETS)
        assert long_run.returncode == 0, long_run.stderr[-3000:]
        (run,) = _runs(instance, "harbour")
        batches = {k: v for k, v in step_workers(instance, run.run_id).items() if k.startswith(VOICE_STEP)}
        assert len(batches) == 2 and sorted(w for v in batches.values() for w in v) == ["w1", "w2"], batches

    voiced = [name for _pid, _ppid, name in synth_log(tmp_path)]
    assert len(voiced) == len(set(voiced))  # no chunk voiced twice
    expected = set().union(*(_chunk_files(tmp_path, b) for b in [*short, "harbour"]))
    assert set(voiced) == expected


def _audio_md5(path) -> str:
    from e3.media.ffmpeg import ffmpeg_exe

    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a", "-f", "md5", "-"],
                         capture_output=True, text=True, check=True, timeout=300)
    return out.stdout.strip()


def test_a_worker_killed_mid_batch_loses_only_its_chunks_in_flight(cluster, tmp_path):
    env, workers = cluster
    _add(env, tmp_path, "harbour", book_chapters(9, chapters=4, paragraphs=4, words=50))
    by_pid = {w.pid: w for w in workers}
    run = subprocess.Popen([sys.executable, "-m", "e3.cli", "produce", "harbour", "--select",
                            ASSETS + ",audiobook_m4b"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        deadline = time.monotonic() + 600
        victim = None
        while victim is None and time.monotonic() < deadline and run.poll() is None:
            rows = synth_log(tmp_path)
            if rows:
                victim = by_pid[rows[0][1]]  # the first worker to finish a chunk, mid-batch
            else:
                time.sleep(0.2)
        assert victim is not None, "no chunk was voiced"
        victim.kill()
        before = len(synth_log(tmp_path))
        out, err = run.communicate(timeout=900)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, err[-3000:]
    survivor = next(w for w in workers if w is not victim)

    rows = synth_log(tmp_path)
    names = [name for _pid, _ppid, name in rows]
    assert len(names) == len(set(names)), "a chunk was voiced twice"
    assert set(names) == _chunk_files(tmp_path, "harbour")  # every chunk once, none lost
    assert before < len(rows) and {ppid for _pid, ppid, _n in rows[before:]} == {survivor.pid}
    with dg.DagsterInstance.get() as instance:
        (dagster_run,) = _runs(instance, "harbour")
        assert dagster_run.status == dg.DagsterRunStatus.SUCCESS
        redone = [v for k, v in step_workers(instance, dagster_run.run_id).items()
                  if k.startswith(VOICE_STEP) and len(v) > 1]
        assert redone == [[victim.name, survivor.name]]  # the killed batch went to the other worker

    # The m4b made on the workers has the audio of one made locally from the same chunk files.
    paths_m4b = tmp_path / "foundry" / "harbour" / "audiobook" / "combined"
    (m4b,) = sorted(paths_m4b.glob("*.m4b"))
    distributed = _audio_md5(m4b)
    for made in paths_m4b.iterdir():
        if made.is_file():
            made.unlink()
    local_env = {k: v for k, v in env.items() if k != "E3_EXECUTOR"}
    local = e3(local_env, "produce", "harbour", "--select", "audiobook_m4b", "--executor", "in_process")
    assert local.returncode == 0, local.stderr[-3000:]
    assert _audio_md5(m4b) == distributed
