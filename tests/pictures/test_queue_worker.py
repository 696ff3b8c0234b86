"""The queue worker end to end with the fake ComfyUI: outputs, failures, leases, concurrency."""

from __future__ import annotations

import json
import threading
import time

import pytest
from PIL import Image

from e3.catalog.db import make_engine
from e3.comfyui.client import ComfyUIClient
from e3.comfyui.queue import JobQueue, LeaseLost, utcnow
from e3.comfyui.worker import build_workflow, process_job, prompt_id_for, run_worker


def image_job(queue, name, out, **params):
    meta = {"workflow": "sdxl_text_to_image", "output_path": str(out),
            "params": {"prompt": f"scene {name}", "seed": 1, "width": 128, "height": 72, **params}}
    return queue.enqueue(name, "image", "sdxl_text_to_image", meta)


def quiet(_msg: str) -> None:
    pass


def test_worker_processes_a_job_and_writes_the_file(engine, fake, tmp_path):
    queue = JobQueue(engine)
    jid = image_job(queue, "pg98-img-001", "pg98/images/scene_001.png", negative="text")
    stats = run_worker(engine, fake.url, "w1", once=True, log=quiet,
                       out_dir_resolver=lambda rel: tmp_path / "foundry" / rel)
    assert stats == {"done": 1, "failed": 0, "retried": 0, "lost": 0}
    job = queue.get(jid)
    assert job.status == "done" and job.worker_id == "w1" and job.run_count == 1 and job.duration >= 0
    out = tmp_path / "foundry" / "pg98/images/scene_001.png"
    assert Image.open(out).size == (128, 72)
    result = job.metadata["result"]
    assert result["outputs"][0]["path"] == str(out) and result["outputs"][0]["bytes"] == out.stat().st_size
    assert result["prompt_id"] == prompt_id_for(job, 0) == fake.submitted[0]
    assert not list(out.parent.glob(".*.part*"))  # no temp files left


def test_unknown_checkpoint_and_bad_workflow_fail_with_reason(engine, fake, tmp_path):
    queue = JobQueue(engine)
    ui = tmp_path / "ui_export.json"
    ui.write_text(json.dumps({"nodes": [], "links": [], "version": 0.4}))
    a = queue.enqueue("bad-ckpt", "image", "sdxl_text_to_image",
                      {"output_path": str(tmp_path / "a.png"), "params": {"checkpoint": "nope.safetensors"}},
                      retry_limit=1)
    b = queue.enqueue("ui-format", "image", str(ui), {"output_path": str(tmp_path / "b.png")}, retry_limit=1)
    c = queue.enqueue("no-output", "image", "sdxl_text_to_image", {}, retry_limit=1)
    stats = run_worker(engine, fake.url, "w1", idle_exit_after=0, log=quiet)
    assert stats["failed"] == 3
    assert "ComfyUIPromptRejected" in queue.get(a).error_trace and "nope.safetensors" in queue.get(a).error_trace
    assert "WorkflowFormatError" in queue.get(b).error_trace and "Export (API)" in queue.get(b).error_trace
    assert "output_path" in queue.get(c).error_trace
    assert {j.status for j in queue.jobs()} == {"failed"} and not (tmp_path / "a.png").exists()


def test_execution_error_is_retried_then_failed(engine, fake, tmp_path):
    queue = JobQueue(engine)
    fake.fail_prompts.add("*")
    jid = image_job(queue, "oom", tmp_path / "oom.png")
    stats = run_worker(engine, fake.url, "w1", idle_exit_after=0, log=quiet)
    job = queue.get(jid)
    assert stats == {"done": 0, "failed": 1, "retried": 2, "lost": 0}
    assert (job.status, job.retries_attempted, job.run_count) == ("failed", 3, 3)
    assert "ComfyUIExecutionError" in job.error_trace and "CUDA out of memory" in job.error_trace
    assert len(set(fake.submitted)) == 3  # one fresh prompt id per attempt


def test_server_dropping_mid_job_sends_the_job_back_then_fails_it(engine, fake, tmp_path):
    queue = JobQueue(engine)
    fake.drop_mid_job = True
    jid = image_job(queue, "dropped", tmp_path / "d.png")
    run_worker(engine, fake.url, "w1", once=True, log=quiet)
    job = queue.get(jid)
    assert (job.status, job.retries_attempted, job.worker_id) == ("pending", 1, None)
    assert "ComfyUIUnreachable" in job.error_trace and "unreachable" in job.error_trace
    # The server stays down: every attempt fails at the health check, and the job ends failed.
    t0 = time.monotonic()
    stats = run_worker(engine, fake.url, "w1", idle_exit_after=0, unreachable_backoff=0, log=quiet)
    job = queue.get(jid)
    assert (job.status, job.retries_attempted) == ("failed", 3) and stats["failed"] == 1
    assert "system_stats" in job.error_trace and time.monotonic() - t0 < 20


def test_slow_server_lease_expires_and_the_late_worker_is_refused(engine, fake, tmp_path):
    queue = JobQueue(engine)
    fake.slow_seconds = 2.5
    jid = image_job(queue, "slowpoke", tmp_path / "slow.png")
    first = queue.lease("w-slow", lease_seconds=0.3)  # a worker that stopped renewing (paused, GC...)
    late: dict = {}

    def slow_worker() -> None:
        with ComfyUIClient(fake.url, timeout=5, poll_interval=0.1) as c:
            late["result"] = process_job(c, first)

    t = threading.Thread(target=slow_worker)
    t.start()
    deadline = time.monotonic() + 10
    while not fake.submitted and time.monotonic() < deadline:  # attempt 0 is on the server
        time.sleep(0.02)
    time.sleep(max(0.0, (first.lease_expires_at - utcnow()).total_seconds()) + 0.05)
    assert queue.reclaim_expired() == 1
    assert queue.get(jid).status == "pending"
    # Another worker takes over. It finds attempt 0 still running on ComfyUI and waits for it
    # instead of submitting the prompt a second time.
    stats = run_worker(engine, fake.url, "w-fast", once=True, log=quiet)
    assert stats["done"] == 1
    t.join(timeout=10)
    with pytest.raises(LeaseLost):
        queue.complete(jid, "w-slow", late["result"], run_count=first.run_count)
    job = queue.get(jid)
    assert (job.status, job.worker_id, job.run_count, job.retries_attempted) == ("done", "w-fast", 2, 1)
    assert job.metadata["result"]["reused"] is True
    assert fake.submitted == [prompt_id_for(first, 0)] and len(fake.executed) == 1
    assert Image.open(tmp_path / "slow.png").size == (128, 72)


def test_resubmit_after_crash_reuses_the_finished_prompt(engine, fake, tmp_path):
    queue = JobQueue(engine)
    jid = image_job(queue, "crashed-after-render", tmp_path / "c.png")
    job = queue.lease("w-crash", lease_seconds=0.1)
    with ComfyUIClient(fake.url) as c:
        c.run(build_workflow(job), prompt_id=prompt_id_for(job))  # rendered, then the worker died before writing
    time.sleep(0.2)
    stats = run_worker(engine, fake.url, "w2", once=True, log=quiet)
    assert stats["done"] == 1 and len(fake.submitted) == 1
    assert queue.get(jid).metadata["result"]["reused"] is True and (tmp_path / "c.png").exists()


def test_image_to_image_job_uploads_its_input(engine, fake, tmp_path):
    queue = JobQueue(engine)
    src = tmp_path / "sketch.png"
    Image.new("RGB", (90, 60), "orange").save(src)
    queue.enqueue("i2i", "image", "sdxl_image_to_image",
                  {"output_path": str(tmp_path / "out.png"), "input_image": str(src),
                   "params": {"prompt": "in oils", "denoise": 0.55, "width": 160, "height": 96}})
    assert run_worker(engine, fake.url, "w1", once=True, log=quiet)["done"] == 1
    assert Image.open(tmp_path / "out.png").size == (160, 96)


def test_music_job_writes_flac(engine, fake, tmp_path):
    queue = JobQueue(engine)
    queue.enqueue("track-01", "audio", "ace_step_music",
                  {"output_path": str(tmp_path / "track_01.flac"), "params": {"prompt": "harp", "duration": 1.0}})
    assert run_worker(engine, fake.url, "w1", once=True, job_types=["audio"], log=quiet)["done"] == 1
    assert (tmp_path / "track_01.flac").read_bytes()[:4] == b"fLaC"


def test_several_workers_drain_60_jobs_exactly_once(db_url, fake, tmp_path):
    setup = make_engine(db_url)
    queue = JobQueue(setup)
    for i in range(60):
        image_job(queue, f"book-img-{i:03d}", tmp_path / f"img_{i:03d}.png", width=64, height=64, seed=i)
    completions: list[str] = []
    lock = threading.Lock()

    def log(msg: str) -> None:
        if " done " in msg:
            with lock:
                completions.append(msg.split(" done ")[1].split(" -> ")[0])

    results: list[dict] = []

    def worker(name: str) -> None:
        engine = make_engine(db_url)
        try:
            results.append(run_worker(engine, fake.url, name, idle_exit_after=0.5, idle_poll=0.05,
                                      lease_seconds=30, log=log))
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(completions) == 60 and len(set(completions)) == 60  # none twice, none lost
    assert sum(r["done"] for r in results) == 60 and not any(r["lost"] or r["failed"] for r in results)
    assert len(fake.submitted) == 60 and len(set(fake.submitted)) == 60  # ComfyUI ran each once
    assert queue.counts() == {"pending": 0, "processing": 0, "done": 60, "failed": 0}
    assert len({j.worker_id for j in queue.jobs()}) > 1  # the work was actually shared
    assert all(Image.open(tmp_path / f"img_{i:03d}.png").size == (64, 64) for i in range(60))
    setup.dispose()
