"""Two celery workers (two processes standing for two hosts) on the local RabbitMQ, sharing a
Postgres catalog, a Postgres Dagster instance and one foundry, for tests and bench/scale.py.

Every worker process (and its synthesis pool) gets ``counting/sitecustomize.py`` on its path:
each finished chunk synthesis appends ``<pid> <parent pid> <chunk file path>`` to a log, so a test
counts how often each chunk was voiced and by which worker.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
COUNTING = Path(__file__).resolve().parent / "counting"
BROKER = os.environ.get("E3_TEST_BROKER", "pyamqp://guest@127.0.0.1:5672//")

WORDS = {
    "adj": "quiet old narrow bright cold silver tired patient sudden distant wet green".split(),
    "noun": "lamp keeper harbour gull lantern rope ferry window bell market tide street".split(),
    "verb": "waited glowed turned rang drifted leaned listened shone waved slept".split(),
    "place": "quay wall bridge chapel square pier lighthouse gate station hill".split(),
}


def paragraph(rng: random.Random, words: int) -> str:
    out: list[str] = []
    while sum(len(s.split()) for s in out) < words:
        w = {k: rng.choice(v) for k, v in WORDS.items()}
        out.append(f"The {w['adj']} {w['noun']} {w['verb']} by the {w['place']}.")
    return " ".join(out)


def book_chapters(seed: int, chapters: int, paragraphs: int, words: int) -> list[tuple[str, list[str]]]:
    rng = random.Random(seed)
    return [(f"Chapter {c + 1}", [paragraph(rng, words) for _ in range(paragraphs)]) for c in range(chapters)]


def broker_reachable() -> str | None:
    """None when the broker answers, else the reason."""
    from kombu import Connection

    try:
        with Connection(BROKER, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001
        return f"RabbitMQ at {BROKER} is unreachable: {exc}"
    return None


def purge_queue() -> None:
    """Drop step messages a crashed earlier run left in the "dagster" queue."""
    from kombu import Connection

    with Connection(BROKER, connect_timeout=3) as conn:
        channel = conn.channel()
        try:
            channel.queue_purge("dagster")
        except Exception:  # noqa: BLE001 - no such queue yet
            pass


def e3_environment(root: Path, catalog_url: str, dagster_db: str, *, batches: int) -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("E3_", "DAGSTER_")):
            del env[name]
    env.update({
        "PYTHONPATH": os.pathsep.join([str(COUNTING), str(PROJECT)]),
        "E3_HOME": str(root), "E3_DATABASE_URL": catalog_url, "E3_FOUNDRY": str(root / "foundry"),
        "E3_DOTENV": str(root / "no.env"), "DAGSTER_HOME": str(root / "dagster_home"), "E3_ENV": "alpha",
        "E3_DAGSTER_STORAGE": "postgres", "E3_DAGSTER_PG_HOST": "127.0.0.1", "E3_DAGSTER_PG_PORT": "5432",
        "E3_DAGSTER_PG_USER": "postgres", "E3_DAGSTER_PG_PASSWORD": "", "E3_DAGSTER_PG_DB": dagster_db,
        "E3_EXECUTOR": "celery", "E3_CELERY_BROKER": BROKER, "E3_TTS_BATCHES": str(batches),
        "E3_TTS_WORKERS": "1", "E3_TEST_SYNTH_LOG": str(root / "synth.log"),
    })
    return env


def e3(env: dict, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "e3.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


class Worker:
    def __init__(self, env: dict, name: str, log: Path):
        self.name, self.log = name, log
        self.fh = open(log, "w", encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, "-m", "e3.cli", "worker", "celery", "--name", name,
                                      "--loglevel", "INFO"], env=env, stdout=self.fh, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log.read_text(encoding="utf-8", errors="replace"):
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"worker {self.name} exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.5)
        raise AssertionError(f"worker {self.name} not ready after {timeout} s")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # celery's warm shutdown
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.fh.close()


def synth_log(root: Path) -> list[tuple[int, int, str]]:
    path = root / "synth.log"
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        pid, ppid, name = line.split(" ", 2)
        rows.append((int(pid), int(ppid), name))
    return rows


def step_workers(instance, run_id: str) -> dict[str, list[str]]:
    """Step key -> the celery worker names that executed it (from the run's engine events)."""
    import dagster as dg

    out: dict[str, list[str]] = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = record.dagster_event
        meta = event.engine_event_data.metadata if event and event.engine_event_data else {}
        if "Celery worker" in meta:
            out.setdefault(event.step_key, []).append(meta["Celery worker"].value.split("@")[0])
    return out
