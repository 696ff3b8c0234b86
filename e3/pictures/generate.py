"""The one way E3 makes pictures (and other ComfyUI files): reuse, paint offline, or queue on ComfyUI.

::

    results = generate_images([ImageRequest(key="pg98:img:1a2b", prompt="...", negative="...",
                                            out=Path(".../scene-001-1-1a2b.png"))],
                              engine=engine, comfyui_url=settings.comfyui_url)

- An output file that already exists is reused: nothing is generated (``reused=True``).
- Without a ComfyUI URL the built-in procedural painter paints it (provider ``dummy``).
- With a URL, each request becomes a ``comfyui_jobs`` row (idempotent on ``config_name`` = the
  request's key) and a worker runs it: in this process (a worker thread against ``comfyui_url``)
  or, with ``external_workers=True``, the ``e3 worker comfyui`` processes, which this waits for.
  A job that ends ``failed`` (after its queue retry limit) raises an ``E3Error`` with the reason.
  When a batch is given up (a failed job, a timeout, Ctrl-C/SIGTERM), the in-process worker
  releases the job it runs and the batch's jobs still pending end ``failed`` ("cancelled: why");
  a rerun requeues them with a fresh retry budget.

SDXL renders best near one megapixel and needs sides that are multiples of 8, so ComfyUI is
asked for the nearest such size with the request's aspect ratio and the PNG is then resized and
centre-cropped to exactly ``width`` x ``height``. The raw ComfyUI file is kept under
``<out dir>/.comfyui/`` until the final PNG is in place.

``run_comfyui_tasks`` is the generic form (any workflow, image or audio jobs, e.g. ACE-Step music).
"""

from __future__ import annotations

import io
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from e3.errors import E3Error
from e3.interrupts import interrupts_held
from e3.fsutil import atomic_write_bytes

DEFAULT_WORKFLOW = "sdxl_text_to_image"
NATIVE_PIXELS = 1024 * 1024  # SDXL's training resolution; larger latents repeat subjects
RAW_DIR = ".comfyui"


class GenerationError(E3Error):
    """A picture could not be made (a failed ComfyUI job, no server configured, a timeout)."""


@dataclass
class ImageRequest:
    """One picture to make. ``key`` is unique and stable: it becomes ``comfyui_jobs.config_name``."""

    key: str
    prompt: str
    negative: str
    out: Path
    width: int = 1920
    height: int = 1080
    seed: int = 0


@dataclass
class ImageResult:
    request: ImageRequest
    path: Path
    provider: str  # "dummy" (built-in painter) or "comfyui"
    reused: bool  # the file already existed: nothing generated


@dataclass
class ComfyTask:
    """One ComfyUI job: a workflow (shipped name or path), its ``fill`` params and the output file."""

    key: str
    workflow: str
    params: dict[str, Any]
    out: Path
    job_type: str = "image"  # "image" | "audio"
    priority: int = 100
    extra: dict[str, Any] = field(default_factory=dict)  # more job metadata (e.g. input_image)


def _noop_log(_: str) -> None:
    pass


def comfy_size(width: int, height: int, native_pixels: int = NATIVE_PIXELS) -> tuple[int, int]:
    """The size to ask SDXL for: ``width:height``, at most ``native_pixels``, sides multiples of 8."""
    scale = min(1.0, (native_pixels / float(width * height)) ** 0.5)

    def side(v: float) -> int:  # rounded up, so fitting back only crops a few pixels
        return max(64, math.ceil(v * scale / 8.0 - 1e-9) * 8)

    return side(width), side(height)


def fit_png(data: bytes, width: int, height: int) -> bytes:
    """Resize (Lanczos) and centre-crop an image to exactly ``width`` x ``height``; PNG bytes."""
    from PIL import Image, ImageOps

    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as exc:  # noqa: BLE001 - any decoder error means the same to the user
        raise GenerationError(f"ComfyUI returned a file that is not an image: {exc}") from exc
    if img.size == (width, height) and img.format == "PNG":
        return data
    img = ImageOps.fit(img.convert("RGB"), (width, height), method=Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=4)
    return buf.getvalue()


def _summary(trace: str | None) -> str:
    lines = [ln.strip() for ln in (trace or "").strip().splitlines() if ln.strip()]
    text = lines[-1] if lines else "no reason recorded"
    return text if len(text) <= 400 else text[:397] + "..."


DEFAULT_JOB_TIMEOUT = 300.0


def comfyui_job_timeout() -> float:
    """Seconds to wait for one ComfyUI job (``E3_COMFYUI_TIMEOUT``, default 300)."""
    from e3.config import setting_number

    return setting_number("E3_COMFYUI_TIMEOUT", DEFAULT_JOB_TIMEOUT, low=1e-9)


def _job_metadata(task: ComfyTask, timeout: float) -> dict[str, Any]:
    return {**task.extra, "workflow": task.workflow, "params": task.params, "output_path": str(task.out),
            "timeout": timeout}


def run_comfyui_tasks(tasks: Sequence[ComfyTask], *, engine: sa.Engine, comfyui_url: str | None,
                      external_workers: bool = False, timeout: float | None = None,
                      on_done: Callable[[int, int, Path], None] | None = None,
                      log: Callable[[str], None] = print, retry_limit: int = 3, lease_seconds: float = 300,
                      unreachable_backoff: float = 5.0, poll: float = 0.2) -> list[Path]:
    """Run ``tasks`` through the ``comfyui_jobs`` queue; returns their output paths in order.

    Tasks whose ``out`` exists are skipped. The rest are enqueued (a ``failed`` job, or a ``done``
    one whose file is gone, is requeued with a fresh retry budget), then run by an in-process
    worker on ``comfyui_url``, or, with ``external_workers``, by ``e3 worker comfyui`` processes.
    Raises ``GenerationError`` on the first job that ends failed (with its error trace summary)
    or when the jobs cannot have finished in time: ``timeout`` is the wait for ONE job (default
    ``E3_COMFYUI_TIMEOUT``, 300 s: an image or a track, not an hour), and the whole wait is
    bounded by that times the attempts and the jobs.
    """
    from e3.pictures.queue import JobQueue

    log = log or _noop_log
    tasks = list(tasks)
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise GenerationError("ComfyUI task keys must be unique")
    total = len(tasks)
    done = 0
    todo: list[ComfyTask] = []
    for task in tasks:
        if Path(task.out).is_file():
            done += 1
            if on_done:
                on_done(done, total, Path(task.out))
        else:
            todo.append(task)
    if not todo:
        return [Path(t.out) for t in tasks]
    if not external_workers and not comfyui_url:
        raise GenerationError("no ComfyUI URL to run the jobs on: set E3_COMFYUI_URL, or use external workers "
                              "(`e3 worker comfyui --url URL`)")

    job_timeout = float(timeout) if timeout is not None else comfyui_job_timeout()
    overall = job_timeout * retry_limit * len(todo) + 60
    queue = JobQueue(engine)
    for task in todo:
        queue.enqueue(task.key, task.job_type, task.workflow, _job_metadata(task, job_timeout),
                      priority=task.priority, retry_limit=retry_limit)
        job = queue.get_by_name(task.key)
        if job.status == "failed" or (job.status == "done" and not Path(task.out).is_file()):
            queue.requeue(task.key)
    log(f"{len(todo)} ComfyUI job(s) queued, {total - len(todo)} output(s) already present; "
        + ("waiting for external workers" if external_workers else "running them in-process"))

    stop, abort = threading.Event(), threading.Event()
    worker: threading.Thread | None = None
    worker_error: list[BaseException] = []
    if not external_workers:
        from e3.pictures.worker import default_worker_id, run_worker

        job_types = sorted({t.job_type for t in todo})

        def work() -> None:
            try:
                run_worker(engine, comfyui_url, f"{default_worker_id()}-inproc", lease_seconds=lease_seconds,
                           stop_event=stop, abort_event=abort, log=log, job_types=job_types, idle_poll=poll,
                           unreachable_backoff=unreachable_backoff)
            except BaseException as exc:  # noqa: BLE001 - reported by the waiting thread
                worker_error.append(exc)

        worker = threading.Thread(target=work, name="e3-comfyui-inproc", daemon=True)
        worker.start()

    pending = {t.key: t for t in todo}
    deadline = time.monotonic() + overall
    try:
        while pending:
            for job in queue.jobs(list(pending)):
                if job.status == "failed":
                    raise GenerationError(f"ComfyUI job {job.config_name} failed after {job.retries_attempted} "
                                          f"attempt(s): {_summary(job.error_trace)}")
                if job.status == "done":
                    task = pending.pop(job.config_name)
                    if not Path(task.out).is_file():
                        raise GenerationError(f"ComfyUI job {job.config_name} is done but {task.out} is missing")
                    done += 1
                    if on_done:
                        on_done(done, total, Path(task.out))
            if not pending:
                break
            if worker_error:
                raise GenerationError(f"the in-process ComfyUI worker stopped: {worker_error[0]}")
            if time.monotonic() >= deadline:
                raise GenerationError(
                    f"{len(pending)} of {total} ComfyUI job(s) unfinished after {overall:g}s"
                    + (" (is a worker running? `e3 worker comfyui --url URL`)" if external_workers else ""))
            time.sleep(poll)
    except BaseException as exc:
        # The batch is given up (a job failed, a timeout, Ctrl-C/SIGTERM): the in-process worker
        # drops its wait and releases its lease, and the siblings still pending are failed with
        # the reason, so no worker spends time on them; a rerun requeues them.
        with interrupts_held():  # a second Ctrl-C must not cut this short
            abort.set()
            stop.set()
            if worker is not None:
                worker.join(timeout=10)
            why = str(exc) if isinstance(exc, E3Error) else "the run was interrupted (Ctrl-C or SIGTERM)"
            try:
                queue.cancel_pending(list(pending), f"cancelled: {why}")
            except Exception:  # noqa: BLE001 - the original error matters more than the cleanup's
                pass
        raise
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=30)  # it stops after its current job; a daemon, so never blocks exit
    return [Path(t.out) for t in tasks]


def _comfyui_provider_of(engine: sa.Engine | None, key: str) -> str:
    """Who made an existing file: ``comfyui`` when its queue job is done, else the painter."""
    if engine is None:
        return "dummy"
    from e3.pictures.queue import JobQueue

    job = JobQueue(engine).get_by_name(key)
    return "comfyui" if job is not None and job.status == "done" else "dummy"


def generate_images(requests: Sequence[ImageRequest], *, engine: sa.Engine | None, comfyui_url: str | None,
                    workflow: str = DEFAULT_WORKFLOW, checkpoint: str | None = None,
                    external_workers: bool = False, priority: int = 100, timeout: float | None = None,
                    on_done: Callable[[int, int, ImageResult], None] | None = None,
                    log: Callable[[str], None] = print, retry_limit: int = 3, lease_seconds: float = 300,
                    unreachable_backoff: float = 5.0) -> list[ImageResult]:
    """Make one PNG per request (see the module docstring); results in request order.

    ``comfyui_url`` None and ``external_workers`` False: the offline painter. ``checkpoint``
    overrides the workflow's model file. ``retry_limit``, ``lease_seconds`` and
    ``unreachable_backoff`` tune the queue (attempts per job, lease length, pause after a server
    that cannot be reached).
    """
    from e3.pictures import painter

    log = log or _noop_log
    requests = list(requests)
    keys = [r.key for r in requests]
    if len(set(keys)) != len(keys):
        raise GenerationError("image request keys must be unique")
    for r in requests:
        if not r.prompt or not r.prompt.strip():
            raise GenerationError(f"image {r.key}: the prompt is empty")
        if r.width < 16 or r.height < 16:
            raise GenerationError(f"image {r.key}: size {r.width}x{r.height} is too small")
    total = len(requests)
    results: dict[str, ImageResult] = {}
    state = {"done": 0}

    def finish(result: ImageResult) -> None:
        results[result.request.key] = result
        state["done"] += 1
        if on_done:
            on_done(state["done"], total, result)

    todo: list[ImageRequest] = []
    for r in requests:
        out = Path(r.out)
        if out.is_file():
            finish(ImageResult(r, out, _comfyui_provider_of(engine, r.key), reused=True))
        else:
            todo.append(r)
    if todo and not comfyui_url and not external_workers:
        for r in todo:
            atomic_write_bytes(Path(r.out), painter.paint(r.prompt, r.width, r.height, r.seed))
            finish(ImageResult(r, Path(r.out), painter.PROVIDER, reused=False))
    elif todo:
        if engine is None:
            raise GenerationError("ComfyUI images need the catalog engine (the comfyui_jobs queue)")
        by_raw: dict[Path, ImageRequest] = {}
        tasks = []
        for r in todo:
            w, h = comfy_size(r.width, r.height)
            params: dict[str, Any] = {"prompt": r.prompt, "negative": r.negative or None, "seed": r.seed,
                                      "width": w, "height": h}
            if checkpoint:
                params["checkpoint"] = checkpoint
            params = {k: v for k, v in params.items() if v is not None}
            raw = Path(r.out).parent / RAW_DIR / Path(r.out).name
            tasks.append(ComfyTask(r.key, workflow, params, raw, "image", priority))
            by_raw[raw] = r

        def task_done(_done: int, _total: int, raw: Path) -> None:
            r = by_raw[raw]
            try:
                png = fit_png(raw.read_bytes(), r.width, r.height)
            finally:
                raw.unlink(missing_ok=True)  # a bad download is discarded: the next run asks again
            atomic_write_bytes(Path(r.out), png)
            finish(ImageResult(r, Path(r.out), "comfyui", reused=False))

        run_comfyui_tasks(tasks, engine=engine, comfyui_url=comfyui_url, external_workers=external_workers,
                          timeout=timeout, on_done=task_done, log=log, retry_limit=retry_limit,
                          lease_seconds=lease_seconds, unreachable_backoff=unreachable_backoff)
        for raw_dir in {Path(r.out).parent / RAW_DIR for r in todo}:
            try:
                raw_dir.rmdir()  # only when empty
            except OSError:
                pass
    return [results[k] for k in keys]
