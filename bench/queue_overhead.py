"""Queue overhead per job: the comfyui_jobs queue + worker vs a plain loop of the same HTTP calls.

Both sides run the same N jobs against the in-process fake ComfyUI (queue_prompt + wait +
download, and the file written atomically). The difference per job is what the queue costs:
enqueue, lease, health check, lease renewal thread, complete. Target: < 20 ms/job on Postgres.

    python bench/queue.py [--jobs 200] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

The Postgres server comes from ``--pg`` or ``E3_BENCH_PG``; the bench creates and drops its own
database there. ``--sqlite`` measures SQLite instead.
"""

from __future__ import annotations

import sys

# Run as a script, this file's folder comes first on sys.path and "queue.py" would shadow the
# standard library's queue module (psycopg and others import it).
_HERE = __import__("os").path.dirname(__import__("os").path.abspath(__file__))
sys.path[:] = [p for p in sys.path if __import__("os").path.abspath(p or ".") != _HERE]

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from e3.catalog.db import create_all, make_engine  # noqa: E402
from e3.fsutil import atomic_write_bytes  # noqa: E402
from e3.comfyui.client import ComfyUIClient  # noqa: E402
from e3.comfyui.queue import JobQueue  # noqa: E402
from e3.comfyui.worker import run_worker  # noqa: E402
from e3.comfyui.workflow import fill, load_workflow  # noqa: E402
from tests.pictures.fake_comfyui import FakeComfyUI  # noqa: E402

PARAMS = {"prompt": "bench", "width": 64, "height": 64}


def plain_loop(url: str, n: int, out: Path) -> float:
    base = load_workflow("sdxl_text_to_image")
    t0 = time.perf_counter()
    with ComfyUIClient(url) as client:
        for i in range(n):
            wf = fill(base, seed=i, **PARAMS)
            outputs = client.run(wf, prompt_id=str(uuid.uuid4()))
            atomic_write_bytes(out / f"plain_{i:04d}.png", outputs[0].data)
    return time.perf_counter() - t0


def queued(url: str, db_url: str, n: int, out: Path) -> float:
    engine = make_engine(db_url)
    create_all(engine)
    queue = JobQueue(engine)
    t0 = time.perf_counter()
    for i in range(n):
        queue.enqueue(f"bench-{i:04d}", "image", "sdxl_text_to_image",
                      {"output_path": str(out / f"queued_{i:04d}.png"), "params": {**PARAMS, "seed": i}})
    stats = run_worker(engine, url, "bench-worker", idle_exit_after=0, log=lambda _m: None)
    elapsed = time.perf_counter() - t0
    assert stats["done"] == n, stats
    assert queue.counts()["done"] == n
    engine.dispose()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--pg", default=os.environ.get("E3_BENCH_PG",
                                                   "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--sqlite", action="store_true", help="measure SQLite instead of Postgres")
    args = ap.parse_args()

    admin = None
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if args.sqlite:
            db_url, label = f"sqlite:///{tmp_path / 'bench.db'}", "SQLite"
        else:
            name = f"e3_bench_{uuid.uuid4().hex[:10]}"
            admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            db_url, label = args.pg.rsplit("/", 1)[0] + "/" + name, "Postgres"
        try:
            with FakeComfyUI() as fake:
                plain_loop(fake.url, 5, tmp_path)  # warm-up (imports, PNG encoder, connections)
                plain = plain_loop(fake.url, args.jobs, tmp_path)
                q = queued(fake.url, db_url, args.jobs, tmp_path)
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                         "WHERE datname = :n"), {"n": name})
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
                admin.dispose()
    per_plain = plain / args.jobs * 1000
    per_queue = q / args.jobs * 1000
    overhead = per_queue - per_plain
    print(f"{args.jobs} jobs on {label}")
    print(f"plain loop (queue_prompt + wait + download): {per_plain:7.2f} ms/job")
    print(f"queue + worker:                              {per_queue:7.2f} ms/job")
    print(f"queue overhead: {overhead:.2f} ms/job (target < 20 ms/job)  ratio queue/plain: {q / plain:.2f}x")
    print("PASS" if overhead < 20 else "FAIL")


if __name__ == "__main__":
    main()
