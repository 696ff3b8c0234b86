"""ComfyUI faults: permanent rejections fail at once, bad or huge downloads never reach a final
file name (and so never poison a later run), and one job waits minutes, not an hour."""

from __future__ import annotations

import pytest

from e3.comfyui.client import ComfyUIClient, ComfyUIError
from e3.errors import ConfigError
from e3.comfyui.tasks import comfyui_job_timeout
from e3.comfyui.queue import JobQueue
from e3.comfyui.worker import run_worker


def _job(queue, name, out, **params):
    meta = {"workflow": "sdxl_text_to_image", "output_path": str(out),
            "params": {"prompt": f"scene {name}", "seed": 1, "width": 128, "height": 72, **params}}
    return queue.enqueue(name, "image", "sdxl_text_to_image", meta, retry_limit=3)


def test_a_missing_checkpoint_fails_at_once_not_three_times(engine, fake, tmp_path):
    queue = JobQueue(engine)
    jid = _job(queue, "bad-ckpt", tmp_path / "a.png", checkpoint="nope.safetensors")
    stats = run_worker(engine, fake.url, "w1", idle_exit_after=0, log=lambda _m: None)
    job = queue.get(jid)
    assert job.status == "failed" and job.retries_attempted == 1 and stats["failed"] == 1
    assert "nope.safetensors" in job.error_trace


def test_a_download_that_is_not_an_image_is_never_written_and_does_not_poison(engine, fake, tmp_path):
    queue = JobQueue(engine)
    out = tmp_path / "images" / "scene.png"
    jid = _job(queue, "scene", out)
    fake.view_body = b"<html><body>502 Bad Gateway</body></html>"
    run_worker(engine, fake.url, "w1", idle_exit_after=0, log=lambda _m: None)
    job = queue.get(jid)
    assert job.status == "failed" and "not an image" in job.error_trace and job.retries_attempted == 3
    assert not out.exists() and not list(tmp_path.rglob("*.png*"))
    # the server is healthy again: the same job (requeued, as the assets do) now succeeds
    fake.view_body = None
    queue.requeue("scene")
    run_worker(engine, fake.url, "w1", idle_exit_after=0, log=lambda _m: None)
    assert queue.get(jid).status == "done" and out.is_file()


def test_downloads_and_json_answers_are_capped_while_they_stream(fake, tmp_path):
    fake.view_body = b"\x89PNG" + b"\0" * 5_000_000
    with ComfyUIClient(fake.url, max_download_bytes=1_000_000) as client:
        with pytest.raises(ComfyUIError, match="more than the 1000000"):
            client.download({"filename": "x.png"})
    with ComfyUIClient(fake.url, max_json_bytes=10) as client:
        with pytest.raises(ComfyUIError, match=r"GET http://127\.0\.0\.1:\d+/system_stats"):
            client.system_stats()


def test_one_job_waits_minutes_by_default(monkeypatch):
    monkeypatch.delenv("E3_COMFYUI_TIMEOUT", raising=False)
    assert comfyui_job_timeout() == 300
    monkeypatch.setenv("E3_COMFYUI_TIMEOUT", "42")
    assert comfyui_job_timeout() == 42
    monkeypatch.setenv("E3_COMFYUI_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="E3_COMFYUI_TIMEOUT must be a number"):
        comfyui_job_timeout()
