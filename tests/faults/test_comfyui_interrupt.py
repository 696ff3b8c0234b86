"""A ComfyUI prompt that never finishes, or a book being voiced: `e3 produce` stops on the first
SIGTERM or Ctrl-C, with the in-process and the multiprocess executor, with the run, the catalog
steps and the queue rows all saying what is true and no child process left; a failed batch leaves
no sibling job pending; a stopped worker gives its job back."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import psutil
import pytest
import sqlalchemy as sa

from e3.catalog.db import create_all, make_engine
from e3.catalog.status import book_status
from e3.demo_book import write_epub
from e3.comfyui.tasks import ComfyTask, GenerationError, run_comfyui_tasks
from e3.comfyui.queue import JobQueue
from e3.comfyui.worker import run_worker
from tests.pictures.fake_comfyui import FakeComfyUI
from tests.conftest import PROJECT_ROOT
from tests.pipeline.helpers import catalog_engine, register


def _without_dagster_helper_tracebacks(err: str) -> str:
    """Dagster mirrors step logs through `tail` and watch_orphans.py, in e3 produce's process
    group: a Ctrl-C there prints their KeyboardInterrupt (two processes, lines interleaved), which
    E3 cannot stop. Those tracebacks are dropped; any other stays."""
    frames = re.findall(r'File "([^"]+)"', err)
    if frames and all(f.endswith("/watch_orphans.py") for f in frames):
        return "\n".join(ln for ln in err.splitlines() if ln.startswith(("error:", "warning:")))
    return err


SCENES = [{"chapter_index": i % 2, "position": 0.5, "prompt": f"a harbour at dawn, scene {i}",
           "negative_prompt": "text", "style": "oil painting"} for i in range(3)]


@pytest.fixture
def book_with_prompts(e3_env, monkeypatch):
    monkeypatch.setenv("E3_IMAGE_WIDTH", "320")
    monkeypatch.setenv("E3_IMAGE_HEIGHT", "180")
    src = write_epub(e3_env / "src" / "tiny.epub", "The Harbour Light", "E3 Tests",
                     [("One", ["At dawn the keeper climbed the stairs."]), ("Two", ["Fog came in."])])
    register("tiny", str(src), title="The Harbour Light")
    images = e3_env / "foundry" / "tiny" / "images"
    images.mkdir(parents=True)
    (images / "prompts.json").write_text(json.dumps({"provider": "extractive", "model": None, "scenes": SCENES}))
    return images


def _jobs():
    with catalog_engine().connect() as conn:
        return conn.execute(sa.text("select config_name, status, retries_attempted, error_trace "
                                    "from comfyui_jobs order by id")).fetchall()


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, "ctrl-c"], ids=["SIGTERM", "SIGINT", "ctrl-c"])
def test_produce_stops_on_the_first_signal_while_comfyui_never_finishes(book_with_prompts, e3_env, monkeypatch,
                                                                         signum, executor):
    """SIGTERM or SIGINT to e3 produce alone (``kill``), or ``ctrl-c``: SIGINT to its whole
    process group, as a terminal sends it."""
    with FakeComfyUI() as fake:
        fake.never_finish = True
        monkeypatch.setenv("E3_COMFYUI_URL", fake.url)
        proc = subprocess.Popen([sys.executable, "-m", "e3.cli", "produce", "tiny", "--select", "illustrations",
                                 "--executor", executor],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            deadline = time.monotonic() + 90
            while not fake.submitted and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert fake.submitted, "the prompt never reached ComfyUI: " + (proc.communicate()[1] or "")
            time.sleep(0.5)
            children = psutil.Process(proc.pid).children(recursive=True)
            assert children or executor == "in_process", "the step runs in a process of its own"
            if signum == "ctrl-c":
                os.killpg(proc.pid, signal.SIGINT)
            else:
                proc.send_signal(signum)
            sent = time.monotonic()
            out, err = proc.communicate(timeout=60)
            took = time.monotonic() - sent
            gone, alive = psutil.wait_procs(children, timeout=5)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        assert not alive, f"child processes left running: {alive}"
        # Seconds on an idle machine; the bound leaves room for a loaded CI runner.
        assert took < 30, "the first signal must stop e3 produce within seconds, not after the job's timeout"
        assert proc.returncode == 1, (out, err)
        if signum == "ctrl-c":
            err = _without_dagster_helper_tracebacks(err)
        assert "Traceback" not in err and "Traceback" not in out
        errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and "illustrations failed: interrupted" in errors[0], err

        status = book_status(catalog_engine(), "tiny")
        assert status["image_generation_status"] == "failed"
        assert "interrupted" in status["last_error"]["message"]
        jobs = _jobs()
        assert len(jobs) == len(SCENES)
        assert not [j for j in jobs if j.status in ("processing", "pending")], jobs
        assert all(j.error_trace.startswith("cancelled: the run was interrupted") and j.retries_attempted == 0
                   for j in jobs), jobs
        os.environ["DAGSTER_HOME"] = str(e3_env / "dagster_home")
        with dg.DagsterInstance.get() as instance:
            runs = instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": "tiny"}))
            assert [r.dagster_run.status for r in runs] == [dg.DagsterRunStatus.FAILURE]
            retries = instance.all_logs(runs[0].dagster_run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
            assert not retries, "an interrupt is not a transient fault: the step is not retried"

        # The server is healthy again: the rerun requeues the cancelled jobs and makes every picture.
        fake.never_finish = False
        rerun = subprocess.run([sys.executable, "-m", "e3.cli", "produce", "tiny", "--select", "illustrations"],
                               capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        assert {j.status for j in _jobs()} == {"done"}
        assert len(list(book_with_prompts.glob("scene-*.png"))) == len(SCENES)


@pytest.fixture
def engine(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    create_all(eng)
    yield eng
    eng.dispose()


def _tasks(tmp_path, n=3):
    return [ComfyTask(f"job-{i}", "sdxl_text_to_image",
                      {"prompt": f"scene {i}", "seed": i, "width": 128, "height": 72}, tmp_path / f"out-{i}.png")
            for i in range(n)]


def test_a_failed_job_cancels_its_pending_siblings_and_a_rerun_makes_them(engine, tmp_path):
    queue = JobQueue(engine)
    tasks = _tasks(tmp_path)
    tasks[0].params["checkpoint"] = "missing.safetensors"  # rejected at once; the others sample slowly
    with FakeComfyUI() as fake:
        fake.slow_seconds = 3
        with pytest.raises(GenerationError, match="job-0 failed"):
            run_comfyui_tasks(tasks, engine=engine, comfyui_url=fake.url, retry_limit=1, timeout=30,
                              log=lambda _m: None, poll=0.05)
        jobs = {j.config_name: j for j in queue.jobs()}
        assert jobs["job-0"].status == "failed" and "missing.safetensors" in jobs["job-0"].error_trace
        for name in ("job-1", "job-2"):  # nobody would ever run them: not left pending
            assert jobs[name].status == "failed", jobs[name]
            assert jobs[name].error_trace.startswith("cancelled: ComfyUI job job-0 failed")
        fake.slow_seconds = 0
        fake.checkpoints.append("missing.safetensors")  # the model is installed now
        paths = run_comfyui_tasks(_tasks(tmp_path), engine=engine, comfyui_url=fake.url, retry_limit=1,
                                  timeout=30, log=lambda _m: None, poll=0.05)
    assert all(p.is_file() for p in paths)
    assert {j.status for j in queue.jobs()} == {"done"}


def test_an_aborted_worker_releases_its_job_at_once(engine, tmp_path):
    queue = JobQueue(engine)
    queue.enqueue("stuck", "image", "sdxl_text_to_image",
                  {"workflow": "sdxl_text_to_image", "output_path": str(tmp_path / "s.png"), "timeout": 300,
                   "params": {"prompt": "x", "seed": 1, "width": 128, "height": 72}})
    abort = threading.Event()
    with FakeComfyUI() as fake:
        fake.never_finish = True
        result = {}
        thread = threading.Thread(target=lambda: result.update(
            run_worker(engine, fake.url, "w1", abort_event=abort, log=lambda _m: None, idle_poll=0.05)))
        thread.start()
        deadline = time.monotonic() + 10
        while not fake.submitted and time.monotonic() < deadline:
            time.sleep(0.02)
        assert queue.get_by_name("stuck").status == "processing"
        abort.set()
        started = time.monotonic()
        thread.join(timeout=10)
        assert not thread.is_alive() and time.monotonic() - started < 3
        deadline = time.monotonic() + 5
        while fake._running is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fake._running is None, "the abandoned prompt is interrupted on the server, not left running"
    job = queue.get_by_name("stuck")
    assert job.status == "pending" and job.retries_attempted == 0 and job.worker_id is None
    assert job.error_trace.startswith("released: stopped waiting")


def test_a_second_ctrl_c_stops_e3_worker_at_once_and_gives_its_job_back(e3_env, tmp_path):
    queue = JobQueue(catalog_engine())
    queue.enqueue("stuck", "image", "sdxl_text_to_image",
                  {"workflow": "sdxl_text_to_image", "output_path": str(tmp_path / "s.png"), "timeout": 300,
                   "params": {"prompt": "x", "seed": 1, "width": 128, "height": 72}})
    with FakeComfyUI() as fake:
        fake.never_finish = True
        proc = subprocess.Popen([sys.executable, "-m", "e3.cli", "worker", "comfyui", "--url", fake.url],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while not fake.submitted and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert fake.submitted, proc.communicate()[0]
            proc.send_signal(signal.SIGINT)
            time.sleep(0.3)
            proc.send_signal(signal.SIGINT)
            sent = time.monotonic()
            out, _ = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        assert time.monotonic() - sent < 5 and proc.returncode == 0, out
        assert "Traceback" not in out
    job = queue.get_by_name("stuck")
    assert job.status == "pending" and job.retries_attempted == 0, job


# -- a TTS step ------------------------------------------------------------------------------------

LAMPS = [f"Lamp {i} was lit at dusk by the keeper, who wrote its number in a book that the rain had "
         f"soaked twice that winter." for i in range(60)]


@pytest.mark.slow
@pytest.mark.parametrize("cli, executor, how", [
    ("e3", "in_process", "kill"), ("e3", "in_process", "ctrl-c"), ("e3", "multiprocess", "kill"),
    ("e3", "multiprocess", "ctrl-c"), ("dagster", "multiprocess", "kill"),
    # Seen once in two full CI runs: after a Ctrl-C to the process group, Dagster's multiprocess
    # executor kept waiting on a fanned-out voice_chunk_batch step that was blocked by the "tts"
    # pool, and the run stayed STARTED. Passes alone; left visible, not hidden.
    pytest.param("dagster", "multiprocess", "ctrl-c", marks=pytest.mark.xfail(
        strict=False, reason="Dagster's multiprocess executor can hang after Ctrl-C on a step blocked by a pool"))])
def test_a_signal_while_voicing_stops_the_run_with_no_worker_left(e3_env, monkeypatch, tmp_path, cli, executor, how):
    """``kill``: SIGTERM to the command alone; ``ctrl-c``: SIGINT to its whole process group, as a
    terminal sends it (the step's process and the voice's workers get it too). ``cli``: `e3 produce`
    or `dagster asset materialize` (which prints Dagster's own report, not E3's one line)."""
    monkeypatch.setenv("E3_TTS_WORKERS", "2")
    src = write_epub(e3_env / "src" / "long.epub", "The Lamp Book", "E3 Tests",
                     [("One", LAMPS[:30]), ("Two", LAMPS[30:])])
    register("lamps", str(src), title="The Lamp Book")
    plan = subprocess.run([sys.executable, "-m", "e3.cli", "produce", "lamps", "--select",
                           "book_source,parsed_chapters,narration_chunks"], capture_output=True, text=True, timeout=300)
    assert plan.returncode == 0, plan.stderr
    chunks = e3_env / "foundry" / "lamps" / "audiobook" / "audio_chunks"
    if cli == "e3":
        cmd = [sys.executable, "-m", "e3.cli", "produce", "lamps", "--select", "audio_chunks", "--executor", executor]
    else:
        (tmp_path / "run.yaml").write_text(f"execution:\n  config:\n    {executor}: {{}}\n")
        cmd = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "e3_assets.definitions",
               "--partition", "lamps", "--select", "audio_chunks", "-c", str(tmp_path / "run.yaml")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            cwd=PROJECT_ROOT)
    try:
        deadline = time.monotonic() + 240
        while proc.poll() is None and time.monotonic() < deadline and not list(chunks.glob("*.flac")):
            time.sleep(0.1)
        assert list(chunks.glob("*.flac")), "no chunk was voiced: " + (proc.communicate()[1] or "")
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 2, children  # the voice's worker pool (and, multiprocess, the step)
        if how == "kill":
            proc.send_signal(signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGINT)
        sent = time.monotonic()
        out, err = proc.communicate(timeout=60)
        took = time.monotonic() - sent
        _gone, alive = psutil.wait_procs(children, timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert not alive, f"processes left running: {[(p.pid, p.cmdline()[:4]) for p in alive]}"
    assert took < 30, f"the signal took {took:.0f} s to stop the run"
    assert proc.returncode != 0, (out, err)
    if cli == "e3":
        if how == "ctrl-c":
            err = _without_dagster_helper_tracebacks(err)
        assert proc.returncode == 1 and "Traceback" not in err, (out, err)
        errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and "interrupted" in errors[0], err
    status = book_status(catalog_engine(), "lamps")
    assert status["audio_generation_status"] == "failed", status
    assert "interrupted" in status["last_error"]["message"]
    os.environ["DAGSTER_HOME"] = str(e3_env / "dagster_home")
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": "lamps"}), limit=1)
        assert runs[0].dagster_run.status == dg.DagsterRunStatus.FAILURE
        assert not instance.all_logs(runs[0].dagster_run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
