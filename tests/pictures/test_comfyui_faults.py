"""ComfyUI faults: permanent rejections fail at once, bad or huge downloads never reach a final
file name (and so never poison a later run), and one job waits minutes, not an hour."""

from __future__ import annotations

import io
import os
import tracemalloc

import pytest

from e3.comfyui.client import ComfyUIClient, ComfyUIError
from e3.errors import ConfigError
from e3.comfyui.queue import JobQueue
from e3.comfyui.tasks import comfyui_job_timeout
from e3.comfyui.worker import run_worker
from e3.fsutil import sha256_file


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


def _big_bmp(megabytes: int) -> bytes:
    from PIL import Image

    side = int((megabytes * 1_000_000 / 3) ** 0.5)
    out = io.BytesIO()
    Image.new("RGB", (side, side), (200, 120, 40)).save(out, "BMP")  # uncompressed: as big as it says
    return out.getvalue()


def test_a_large_download_streams_to_disk_with_flat_memory(fake, tmp_path):
    fake.view_body = _big_bmp(40)
    final = tmp_path / "images" / "scene.bmp"
    final.parent.mkdir()
    with ComfyUIClient(fake.url, max_download_bytes=64 << 20) as client:
        tracemalloc.start()
        try:
            size = client.download_to({"filename": "x.bmp"}, final, verify=_is_image)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert size == len(fake.view_body) and final.read_bytes() == fake.view_body
    assert peak < 4 << 20, f"a {size >> 20} MB download held {peak >> 20} MB in memory"
    assert os.listdir(final.parent) == ["scene.bmp"], "no temporary file is left beside it"


def _is_image(path):
    from PIL import Image

    with Image.open(path) as img:
        img.verify()


@pytest.mark.parametrize("body, cap, expected", [
    (b"<html><body>502 Bad Gateway</body></html>", 64 << 20, "cannot identify image file"),
    (None, 10 << 20, "more than the 10485760"),  # the 40 MB picture, over the cap
])
def test_a_refused_download_leaves_neither_the_file_nor_a_temporary_one(fake, tmp_path, body, cap, expected):
    from PIL import UnidentifiedImageError

    fake.view_body = body if body is not None else _big_bmp(40)
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "scene.bmp").write_bytes(b"the picture of an earlier run")
    with ComfyUIClient(fake.url, max_download_bytes=cap) as client:
        with pytest.raises((ComfyUIError, UnidentifiedImageError), match=expected):
            client.download_to({"filename": "x.bmp"}, folder / "scene.bmp", verify=_is_image)
    assert os.listdir(folder) == ["scene.bmp"] and (folder / "scene.bmp").read_bytes() == b"the picture of an earlier run"


def test_the_worker_streams_its_output_to_disk_and_records_what_was_written(engine, fake, tmp_path):
    queue = JobQueue(engine)
    out = tmp_path / "images" / "scene.png"
    jid = _job(queue, "scene", out)
    stats = run_worker(engine, fake.url, "w1", idle_exit_after=0, log=lambda _m: None)
    job = queue.get(jid)
    assert stats["done"] == 1
    [written] = job.metadata["result"]["outputs"]
    assert written["path"] == str(out) and out.stat().st_size == written["bytes"] > 0
    assert sha256_file(out) == written["sha256"]
    assert os.listdir(out.parent) == ["scene.png"]
