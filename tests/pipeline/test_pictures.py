"""Pictures through Dagster: image_prompts and illustrations, offline, on a fake ComfyUI, with
external workers, a server that is down, and an LLM that does or does not answer in JSON."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import dagster as dg
import pytest
import sqlalchemy as sa
from PIL import Image as PILImage
from sqlalchemy.orm import Session

from e3.catalog.models import ComfyUIJob, Image
from e3.catalog.status import book_status
from e3.demo_book import write_epub
from e3.foundry import Foundry
from tests.pictures.fake_comfyui import FakeComfyUI
from tests.pipeline.helpers import catalog_engine, register, resources

TINY = [
    ("Chapter One", ["At dawn the old lighthouse keeper Mara climbed the spiral stairs with a brass oil can.",
                     "Below her the grey harbour was full of fishing boats with red sails.",
                     "A gull screamed over the stone quay, and the bell of the chapel rang six times."]),
    ("Chapter Two", ["That night a thick fog rolled in from the northern sea and swallowed the town.",
                     "Children carried paper lanterns through the narrow cobbled streets.",
                     "In the tavern by the market square the fishermen argued about the storm."]),
]
W, H = 320, 180
SCENES = [  # a hand-written prompts.json for the illustration tests (no writer involved)
    {"chapter_index": 0, "position": 0.2, "prompt": "a lighthouse keeper on spiral stairs at dawn, brass oil can",
     "negative_prompt": "text, watermark", "style": "oil painting"},
    {"chapter_index": 0, "position": 0.7, "prompt": "a grey harbour full of fishing boats with red sails",
     "negative_prompt": "text, watermark", "style": "oil painting"},
    {"chapter_index": 1, "position": 0.5, "prompt": "children with paper lanterns in foggy cobbled streets at night",
     "negative_prompt": "text, watermark", "style": "oil painting"},
]


def _metadata(result, asset: str) -> dict:
    mats = list(result.asset_materializations_for_node(asset))
    return {k: v.value for k, v in mats[-1].metadata.items()}


def _materialize(instance, assets: list[str], *, raise_on_error: bool = True, **overrides):
    from e3_assets import definitions

    if not instance.has_dynamic_partition("books", "tiny"):
        instance.add_dynamic_partitions("books", ["tiny"])
    by_name = {a.key.to_user_string(): a for a in definitions.all_assets}
    return dg.materialize([by_name[a] for a in assets], partition_key="tiny", instance=instance,
                          resources={**resources(), **overrides}, raise_on_error=raise_on_error)


def _paths(e3_env):
    return Foundry(e3_env / "foundry").book("tiny")


def _image_rows() -> list[Image]:
    with Session(catalog_engine()) as s:
        return list(s.scalars(sa.select(Image).where(Image.book_id == "tiny")))


def _jobs() -> list[ComfyUIJob]:
    with Session(catalog_engine()) as s:
        return list(s.scalars(sa.select(ComfyUIJob).order_by(ComfyUIJob.id)))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def tiny_book(e3_env, monkeypatch):
    monkeypatch.setenv("E3_IMAGE_WIDTH", str(W))
    monkeypatch.setenv("E3_IMAGE_HEIGHT", str(H))
    src = write_epub(e3_env / "src" / "tiny.epub", "The Harbour Light", "E3 Tests", TINY, year="1890")
    register("tiny", str(src), title="The Harbour Light")
    return src


@pytest.fixture
def written_prompts(tiny_book, e3_env):
    """prompts.json as image_prompts would write it, so illustrations can be tested on their own."""
    paths = _paths(e3_env)
    paths.images.mkdir(parents=True, exist_ok=True)
    (paths.images / "prompts.json").write_text(json.dumps({"provider": "extractive", "model": None,
                                                           "scenes": SCENES}))
    return paths


def _assert_pngs(results, size=(W, H)):
    for r in results:
        with PILImage.open(r) as img:
            assert img.format == "PNG" and img.size == size, (r, img.size)


# -- offline -----------------------------------------------------------------------------------------

def test_offline_prompts_and_painted_illustrations_then_a_rerun_makes_nothing(e3_env, tiny_book, monkeypatch):
    monkeypatch.setenv("E3_SCENES_PER_CHAPTER", "2")
    with dg.instance_for_test() as instance:
        result = _materialize(instance, ["book_source", "parsed_chapters", "image_prompts", "illustrations"])
        assert result.success
        prompts_meta = _metadata(result, "image_prompts")
        assert prompts_meta["writer"] == "extractive"
        paths = _paths(e3_env)
        data = json.loads((paths.images / "prompts.json").read_text())
        assert data["provider"] == "extractive"
        scenes = data["scenes"]
        assert {s["chapter_index"] for s in scenes} == {0, 1}
        assert 2 <= len(scenes) <= 4 and prompts_meta["scenes"] == len(scenes)
        for s in scenes:
            assert s["prompt"].strip() and s["negative_prompt"].strip() and s["style"].strip()
            assert "Chapter One" not in s["prompt"] and "Chapter Two" not in s["prompt"]
        assert len({s["prompt"] for s in scenes}) == len(scenes), "every scene has its own prompt"

        meta = _metadata(result, "illustrations")
        pngs = sorted(paths.images.glob("scene-*.png"))
        assert meta["provider"] == "dummy" and meta["images"] == len(pngs) == len(scenes)
        assert meta["made_now"] == len(scenes) and meta["reused"] == 0
        assert "![" in meta["preview"] and pngs[0].name in meta["preview"]
        # the UI renders only http(s) and data: images: inline thumbnails of a few KB each
        assert "file://" not in meta["preview"] and "](data:image/jpeg;base64," in meta["preview"]
        assert len(meta["preview"]) < 30_000 * min(len(pngs), 4)
        _assert_pngs(pngs)
        assert pngs[0].name.startswith("scene-001-1-")
        rows = _image_rows()
        assert len(rows) == len(scenes)
        assert {r.provider for r in rows} == {"dummy"} and all(r.order_index is None for r in rows)
        assert {r.local_file_path for r in rows} == {str(p) for p in pngs}
        assert {r.prompt_text for r in rows} == {s["prompt"] for s in scenes}
        assert not _jobs(), "the offline painter does not use the ComfyUI queue"

        status = book_status(catalog_engine(), "tiny")
        for step in ("image_prompts", "image_jobs_generation", "image_generation"):
            assert status[f"{step}_status"] == "completed", step
        assert status["total_image_jobs"] == status["image_jobs_completed"] == len(scenes)
        with Session(catalog_engine()) as s:
            from e3.catalog.models import AudiobookProduction

            row = s.scalar(sa.select(AudiobookProduction).where(AudiobookProduction.book_id == "tiny"))
            assert row.image_prompts_started_at and row.image_prompts_completed_at
            assert row.image_generation_completed_at and row.image_jobs_generation_completed_at

        mtimes = {p: p.stat().st_mtime_ns for p in pngs}
        again = _materialize(instance, ["illustrations"])
        meta = _metadata(again, "illustrations")
        assert meta["made_now"] == 0 and meta["reused"] == len(scenes)
        assert {p: p.stat().st_mtime_ns for p in pngs} == mtimes
        assert len(_image_rows()) == len(scenes), "no duplicate images rows on a rerun"

    from click.testing import CliRunner

    from e3.cli import main

    shown = CliRunner().invoke(main, ["images", "prompts", "tiny"])
    assert shown.exit_code == 0, shown.output
    assert f"{len(scenes)} scenes, written by extractive" in shown.output and scenes[0]["prompt"] in shown.output
    missing = CliRunner().invoke(main, ["images", "prompts", "nobook"])
    assert missing.exit_code == 1 and "no image prompts yet" in missing.output


# -- ComfyUI --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_illustrations_come_from_comfyui_through_the_queue(e3_env, tiny_book, monkeypatch, request, database):
    if database == "postgres":
        monkeypatch.setenv("E3_DATABASE_URL", request.getfixturevalue("pg_url"))
        register("tiny", str(tiny_book), title="The Harbour Light")
    paths = request.getfixturevalue("written_prompts")
    with FakeComfyUI() as fake:
        monkeypatch.setenv("E3_COMFYUI_URL", fake.url)
        with dg.instance_for_test() as instance:
            result = _materialize(instance, ["illustrations"])
        assert result.success
        meta = _metadata(result, "illustrations")
        assert meta["provider"] == "comfyui" and meta["images"] == len(SCENES) == meta["made_now"]
        assert len(fake.executed) == len(SCENES)
        # Sides must be multiples of 8 for SDXL: the workflow asked for 320x184, the PNG is 320x180.
        prompt = fake._history[fake.executed[0]]["prompt"][2]
        latent = next(n["inputs"] for n in prompt.values() if n["class_type"] == "EmptyLatentImage")
        assert (latent["width"], latent["height"]) == (320, 184)
        texts = {n["inputs"]["text"] for p in fake.executed for n in fake._history[p]["prompt"][2].values()
                 if n["class_type"] == "CLIPTextEncode"}
        assert {s["prompt"] for s in SCENES} <= texts and "text, watermark" in texts
    pngs = sorted(paths.images.glob("scene-*.png"))
    assert len(pngs) == len(SCENES)
    _assert_pngs(pngs)
    assert not (paths.images / ".comfyui").exists(), "raw ComfyUI files are cleaned up"
    jobs = _jobs()
    assert len(jobs) == len(SCENES) and {j.status for j in jobs} == {"done"}
    assert all(j.config_name.startswith("tiny:img:") and j.job_type == "image" for j in jobs)
    assert all(json.loads(j.metadata_json)["workflow"] == "sdxl_text_to_image" for j in jobs)
    rows = _image_rows()
    assert len(rows) == len(SCENES) and {r.provider for r in rows} == {"comfyui"}
    status = book_status(catalog_engine(), "tiny")
    assert status["image_generation_status"] == "completed"
    assert status["total_image_jobs"] == status["image_jobs_completed"] == len(SCENES)


def test_comfyui_down_fails_the_run_with_the_reason_and_bounded_retries(e3_env, written_prompts, monkeypatch):
    from e3_resources.comfyui import ComfyUIResource

    monkeypatch.setenv("E3_COMFYUI_URL", f"http://127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    with dg.instance_for_test() as instance:
        result = _materialize(instance, ["illustrations"], raise_on_error=False,
                              comfyui=ComfyUIResource(retry_limit=2, unreachable_backoff=0.05))
    assert not result.success
    assert time.monotonic() - started < 60
    status = book_status(catalog_engine(), "tiny")
    assert status["image_generation_status"] == "failed"
    assert status["last_error"]["step"] == "image_generation"
    assert "unreachable" in status["last_error"]["message"], status["last_error"]
    jobs = _jobs()
    failed = [j for j in jobs if j.status == "failed"]
    assert failed and all(j.retries_attempted == j.retry_limit == 2 or j.error_trace.startswith("cancelled: ")
                          for j in failed), "each job used its attempts, or was cancelled with its batch"
    assert all("unreachable" in j.error_trace for j in failed)
    assert not [j for j in jobs if j.status in ("processing", "pending")], "nothing is left leased or pending"
    assert not list(written_prompts.images.glob("scene-*.png")), "no picture under a final name"
    assert not _image_rows()


def test_external_worker_process_runs_the_jobs_while_the_asset_waits(e3_env, written_prompts, monkeypatch):
    import threading

    monkeypatch.setenv("E3_COMFYUI_EXTERNAL_WORKERS", "true")
    monkeypatch.setenv("E3_COMFYUI_TIMEOUT", "90")
    worker: dict = {}
    engine = catalog_engine()  # migrated here: alembic and Dagster's config loading do not mix across threads

    def start_worker_once_jobs_are_queued(url: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.scalar(sa.select(sa.func.count()).select_from(ComfyUIJob)) >= len(SCENES):
                    break
            time.sleep(0.1)
        # --idle-exit 0: drain the queue, then exit (the asset is waiting meanwhile).
        proc = subprocess.run(
            [sys.executable, "-m", "e3.cli", "worker", "comfyui", "--url", url, "--worker-id", "ext-1",
             "--idle-exit", "0", "--lease", "30"],
            env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        worker.update(rc=proc.returncode, out=proc.stdout)

    with FakeComfyUI() as fake:
        starter = threading.Thread(target=start_worker_once_jobs_are_queued, args=(fake.url,), daemon=True)
        starter.start()
        with dg.instance_for_test() as instance:
            result = _materialize(instance, ["illustrations"])
        starter.join(timeout=60)
    assert result.success, worker
    assert worker["rc"] == 0, worker["out"]
    assert f"{len(SCENES)} done" in worker["out"]
    jobs = _jobs()
    assert len(jobs) == len(SCENES) and {j.status for j in jobs} == {"done"}
    assert {j.worker_id for j in jobs} == {"ext-1"}, "the external worker ran them, not the asset"
    assert _metadata(result, "illustrations")["provider"] == "comfyui"
    _assert_pngs(sorted(written_prompts.images.glob("scene-*.png")))


# -- LLM prompt writer --------------------------------------------------------------------------------

def test_llm_reply_that_is_never_json_fails_the_run_with_the_reason(e3_env, tiny_book, monkeypatch):
    from tests.pictures.test_llm import FakeOpenAI

    with FakeOpenAI(["Sure! Here are some lovely scenes: a harbour, a lighthouse."]) as srv:
        monkeypatch.setenv("E3_LLM_BASE_URL", srv.url)
        monkeypatch.setenv("E3_LLM_MODEL", "fake-model")
        with dg.instance_for_test() as instance:
            result = _materialize(instance, ["book_source", "parsed_chapters", "image_prompts"],
                                  raise_on_error=False)
    assert not result.success
    assert 2 <= len(srv.requests) <= 8, "bounded corrective retries, then the run fails"
    status = book_status(catalog_engine(), "tiny")
    assert status["image_prompts_status"] == "failed"
    assert status["last_error"]["step"] == "image_prompts"
    assert "not valid JSON" in status["last_error"]["message"], status["last_error"]
    assert not (_paths(e3_env).images / "prompts.json").exists()


def test_llm_writes_the_prompts_when_configured(e3_env, tiny_book, monkeypatch):
    import json as _json

    from tests.pictures.test_llm import FakeOpenAI

    reply = _json.dumps({"scenes": [{"position": 0.4, "prompt": "a keeper lighting a brass lamp on a foggy quay at dusk",
                                     "negative_prompt": "text", "style": "oil painting"}]})
    with FakeOpenAI([reply]) as srv:
        monkeypatch.setenv("E3_LLM_BASE_URL", srv.url)
        monkeypatch.setenv("E3_LLM_MODEL", "fake-model")
        with dg.instance_for_test() as instance:
            result = _materialize(instance, ["book_source", "parsed_chapters", "image_prompts"])
    assert result.success
    data = _json.loads((_paths(e3_env).images / "prompts.json").read_text())
    assert data["provider"] == "llm" and data["model"] == "fake-model"
    assert {s["chapter_index"] for s in data["scenes"]} == set(range(len(data["scenes"])))
    assert all(s["prompt"].startswith("a keeper lighting") for s in data["scenes"])
    assert book_status(catalog_engine(), "tiny")["image_prompts_status"] == "completed"
