"""The comfyui_jobs queue at scale: one `e3 worker comfyui` process per (fake) GPU server, two of
each, drain one queue on Postgres with every job rendered exactly once and both GPUs used."""

from __future__ import annotations

import os
import subprocess
import sys

from PIL import Image

from e3.catalog.db import create_all, make_engine
from e3.comfyui.queue import JobQueue
from tests.pictures.fake_comfyui import FakeComfyUI
from tests.pictures.test_queue_worker import image_job
from tests.scale.celery_env import PROJECT

JOBS = 16


def test_one_worker_process_per_gpu_server_drains_the_queue_once(pg_url, tmp_path):
    engine = make_engine(pg_url)
    create_all(engine)
    queue = JobQueue(engine)
    for i in range(JOBS):
        image_job(queue, f"img-{i:03d}", tmp_path / f"img_{i:03d}.png", width=64, height=64, seed=i)
    env = {k: v for k, v in os.environ.items() if not k.startswith("E3_")}
    env.update(PYTHONPATH=str(PROJECT), E3_DATABASE_URL=pg_url, E3_HOME=str(tmp_path),
               E3_FOUNDRY=str(tmp_path / "foundry"), E3_DOTENV=str(tmp_path / "no.env"))
    with FakeComfyUI() as gpu1, FakeComfyUI() as gpu2:
        procs = [subprocess.Popen([sys.executable, "-m", "e3.cli", "worker", "comfyui", "--url", gpu.url,
                                   "--worker-id", name, "--idle-exit", "1"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for name, gpu in (("gpu-1", gpu1), ("gpu-2", gpu2))]
        for proc in procs:
            _out, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, err[-2000:]
        submitted = [list(gpu1.submitted), list(gpu2.submitted)]
    assert queue.counts() == {"pending": 0, "processing": 0, "done": JOBS, "failed": 0}
    by_worker = {}
    for job in queue.jobs():
        by_worker.setdefault(job.worker_id, []).append(job)
    assert set(by_worker) == {"gpu-1", "gpu-2"}  # both GPUs' workers took jobs
    assert len(submitted[0]) + len(submitted[1]) == JOBS  # each job rendered once, on one GPU
    assert len(submitted[0]) == len(by_worker["gpu-1"]) and len(submitted[1]) == len(by_worker["gpu-2"])
    assert all(Image.open(tmp_path / f"img_{i:03d}.png").size == (64, 64) for i in range(JOBS))
    engine.dispose()
