"""One book's voicing on one and on two celery workers, against the same voicing done locally.

    python bench/scale.py [--minutes 30] [--batches 4]

Writes a book of about ``--minutes`` of narration, then voices its chunk plan three times from
scratch, measured in this one run:

1. local: ``e3.narration.voicing.voice_book`` in this process, one synthesis process (the baseline,
   measured before and after the celery runs and averaged);
2. celery, one worker: ``e3 produce BOOK --select audio_chunks`` with E3_EXECUTOR=celery, the
   book split into ``--batches`` steps, all taken by one ``e3 worker celery``;
3. celery, two workers: the same with a second worker process.

Printed: the distributed overhead per chunk as a share of the synthesis time per chunk
(target < 5 %), measured over the audio_chunks steps in the run's event log (first step start to
the manifest step's end), and the speedup of two workers over one. Each worker runs one synthesis
process (E3_TTS_WORKERS=1), so on this 2-vCPU box two workers can at best use both vCPUs; what it
reaches depends on the other load on the machine, which the output names (load average).
Needs the local RabbitMQ and Postgres (E3_BENCH_PG, default postgresql+psycopg://postgres@127.0.0.1:5432/postgres);
the bench creates and drops its own databases.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from e3.demo_book import write_epub  # noqa: E402
from tests.scale.celery_env import Worker, book_chapters, broker_reachable, e3, e3_environment, purge_queue  # noqa: E402

PG = os.environ.get("E3_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
WORDS_PER_MINUTE = 175  # Piper's joe voice reads about this fast (measured: 440 words in 2.5 min)


def _admin():
    return sa.create_engine(PG, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


def _drop(names: list[str]) -> None:
    admin = _admin()
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                         {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _steps_span(env: dict, book_id: str) -> float:
    """Seconds from the first audio_chunks step's start to the last one's end, latest run of the book."""
    for name, value in env.items():
        if name.startswith(("E3_", "DAGSTER_")):
            os.environ[name] = value
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(dg.RunsFilter(tags={"dagster/partition": book_id}), limit=1)[0]
        if run.status != dg.DagsterRunStatus.SUCCESS:
            raise SystemExit(f"run {run.run_id} of {book_id} ended {run.status.value}")
        stats = [s for s in instance.get_run_step_stats(run.run_id) if s.step_key.startswith("audio_chunks.")]
        return max(s.end_time for s in stats) - min(s.start_time for s in stats)


def _reset_chunks(root: Path, book_id: str) -> None:
    audiobook = root / "foundry" / book_id / "audiobook"
    shutil.rmtree(audiobook / "audio_chunks", ignore_errors=True)
    (audiobook / "audio_manifest.json").unlink(missing_ok=True)


def _celery_run(env: dict, root: Path, book_id: str) -> tuple[float, float]:
    _reset_chunks(root, book_id)
    t0 = time.perf_counter()
    made = e3(env, "produce", book_id, "--select", "audio_chunks", timeout=7200)
    wall = time.perf_counter() - t0
    if made.returncode != 0:
        raise SystemExit(f"celery run failed: {made.stderr[-2000:]}")
    return _steps_span(env, book_id), wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="About this much narration (default 30).")
    ap.add_argument("--batches", type=int, default=4, help="E3_TTS_BATCHES for the celery runs (default 4).")
    args = ap.parse_args()
    reason = broker_reachable()
    if reason:
        raise SystemExit(reason)

    tag = uuid.uuid4().hex[:8]
    catalog_db, dagster_db = f"e3_bench_scale_{tag}", f"e3_bench_scale_dg_{tag}"
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{catalog_db}"'))
    admin.dispose()
    root = Path(tempfile.mkdtemp(prefix="e3-bench-scale-"))
    env = e3_environment(root, PG.rsplit("/", 1)[0] + "/" + catalog_db, dagster_db, batches=args.batches)
    env.pop("E3_TEST_SYNTH_LOG", None)
    workers: list[Worker] = []
    try:
        assert e3(env, "init").returncode == 0
        import subprocess

        subprocess.run([sys.executable, "-m", "dagster", "instance", "concurrency", "set", "tts", "2"],
                       env=env, check=True, capture_output=True, timeout=120)
        words = int(args.minutes * WORDS_PER_MINUTE)
        chapters = max(args.batches * 2, 8)
        src = write_epub(root / "src" / "scale.epub", "Scale", "E3 Bench",
                         book_chapters(7, chapters=chapters, paragraphs=max(1, round(words / (chapters * 55))), words=55))
        assert e3(env, "add", str(src), "--book-id", "scale").returncode == 0
        purge_queue()
        workers.append(Worker(env, "w1", root / "w1.log"))
        workers[0].wait_ready()
        prep = e3(env, "produce", "scale", "--select", "book_source,parsed_chapters,narration_chunks")
        if prep.returncode != 0:
            raise SystemExit(prep.stderr[-2000:])

        # 1. the baseline: the same plan voiced here, one synthesis process.
        for name, value in env.items():
            if name.startswith(("E3_", "DAGSTER_")):
                os.environ[name] = value
        from e3.narration.voicing import voice_book
        from e3_resources.catalog import CatalogResource
        from e3_resources.tts import TTSResource

        voice = TTSResource().voice_for_book(CatalogResource(), "scale")  # the voice the runs use
        plan = json.loads((root / "foundry" / "scale" / "audiobook" / "chunks.json").read_text())

        def local_run(n: int):
            folder = root / f"local{n}"
            t0 = time.perf_counter()
            voiced = voice_book(plan, folder / "chunks", folder / "manifest.json", voice_spec=voice.spec,
                                book_id="scale", narrator_id=voice.narrator_id, sample_rate=voice.sample_rate,
                                workers=1)
            seconds = time.perf_counter() - t0
            shutil.rmtree(folder)
            return seconds, voiced

        # The baseline is measured before and after the celery runs: the machine's other load moves.
        local_before, voiced = local_run(1)
        chunks, speech = voiced.chunks, voiced.speech_seconds

        one_span, one_wall = _celery_run(env, root, "scale")
        workers.append(Worker(env, "w2", root / "w2.log"))
        workers[1].wait_ready()
        two_span, two_wall = _celery_run(env, root, "scale")
        local_after, _ = local_run(2)
    finally:
        for w in workers:
            w.stop()
        _drop([catalog_db, dagster_db])
        shutil.rmtree(root, ignore_errors=True)

    local = (local_before + local_after) / 2
    per_chunk = local / chunks
    overhead = (one_span - local) / chunks
    print(f"narration: {speech / 60:.1f} min in {chunks} chunks, {args.batches} batches; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} vCPUs")
    print(f"local, 1 process:    {local:8.1f} s  (mean of {local_before:.1f} s before and {local_after:.1f} s after "
          f"the celery runs; {per_chunk:.2f} s synthesis per chunk, {speech / local:.1f}x real time)")
    print(f"celery, 1 worker:    {one_span:8.1f} s in the audio_chunks steps ({one_wall:.1f} s for the whole e3 produce)")
    print(f"celery, 2 workers:   {two_span:8.1f} s in the audio_chunks steps ({two_wall:.1f} s for the whole e3 produce)")
    print(f"distributed overhead per chunk: {overhead:+.3f} s = {overhead / per_chunk:+.1%} of its synthesis time "
          f"(target < 5%)")
    print(f"speedup, 2 workers over 1: {one_span / two_span:.2f}x (steps), {one_wall / two_wall:.2f}x (whole command)")


if __name__ == "__main__":
    main()
