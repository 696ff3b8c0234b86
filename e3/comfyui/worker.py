"""The ComfyUI queue worker: lease a job, run it on one ComfyUI server, store the files.

A job's ``metadata`` (JSON in ``comfyui_jobs.metadata``)::

    {
      "workflow": "sdxl_text_to_image",      # shipped name or a path; default: the row's workflow_id
      "params": {"prompt": "...", "negative": "...", "seed": 7, "width": 1344, "height": 768},
                                              # keyword arguments of e3.comfyui.workflow.fill
      "output_path": "pg98/images/scene_001.png",   # where the first output file goes
      "input_image": "pg98/images/sketch.png",      # optional: uploaded, then set on "Load Image"
      "timeout": 900                          # optional: seconds to wait for ComfyUI
    }

Extra outputs (batch_size > 1, several save nodes) go beside it as ``scene_001_1.png`` etc.
Relative paths are resolved by ``out_dir_resolver`` (for example against the foundry).

Resubmits are idempotent: each attempt's ComfyUI ``prompt_id`` is derived from the job's
``config_name`` (plus the row's nonce and the attempt number). When a job is leased again after
a crash, the worker first looks for an earlier attempt of the same job on the server: a finished
one is downloaded instead of being run again, a queued or running one is waited for.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from e3.errors import E3Error
from e3.comfyui.client import (ComfyUICancelled, ComfyUIClient, ComfyUIError, ComfyUIPromptRejected,
                               ComfyUIUnreachable, OutputRef)
from e3.comfyui.queue import Job, JobQueue, LeaseLost
from e3.comfyui.workflow import fill, load_workflow
from e3.fsutil import atomic_path, sha256_file

_PROMPT_NS = uuid.UUID("8a1e3c52-3f0e-4c36-9a51-5c7d0c1f7e3b")


class JobSpecError(E3Error):
    """The job's metadata cannot be run (no output_path, bad params...)."""


def prompt_id_for(job: Job, attempt: int | None = None) -> str:
    """The deterministic ComfyUI prompt id of one attempt of ``job``."""
    attempt = job.retries_attempted if attempt is None else attempt
    nonce = job.metadata.get("_nonce") or str(job.id)
    return str(uuid.uuid5(_PROMPT_NS, f"{job.config_name}\x00{nonce}\x00{attempt}"))


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def build_workflow(job: Job, client: ComfyUIClient | None = None,
                   resolve: Callable[[str], Path] = Path) -> dict[str, Any]:
    """The filled API-format workflow of ``job`` (uploads ``input_image`` through ``client``)."""
    meta = job.metadata
    name = meta.get("workflow") or job.workflow_id
    if not name:
        raise JobSpecError(f"job {job.config_name}: no workflow in metadata and no workflow_id")
    params = dict(meta.get("params") or {})
    if not isinstance(meta.get("params", {}), dict):
        raise JobSpecError(f"job {job.config_name}: metadata 'params' must be an object")
    if meta.get("input_image"):
        if client is None:
            raise JobSpecError(f"job {job.config_name}: an input_image needs a ComfyUI client to upload it")
        src = resolve(meta["input_image"])
        if not src.is_file():
            raise JobSpecError(f"job {job.config_name}: input image {src} does not exist")
        uploaded = client.upload_image(src.read_bytes(), f"e3_{uuid.uuid4().hex[:12]}{src.suffix or '.png'}")
        params["image"] = (f"{uploaded['subfolder']}/" if uploaded.get("subfolder") else "") + uploaded["name"]
    try:
        return fill(load_workflow(name), **params)
    except TypeError as exc:  # an unknown key in params
        raise JobSpecError(f"job {job.config_name}: bad params: {exc}") from exc


def _find_earlier_attempt(client: ComfyUIClient, job: Job) -> tuple[str, dict | None] | None:
    """An earlier attempt still known to ComfyUI: (prompt_id, history entry or None if queued)."""
    ids = [prompt_id_for(job, a) for a in range(job.retries_attempted, -1, -1)]
    for pid in ids:
        entry = client.history(pid)
        if entry and (entry.get("status") or {}).get("status_str", "success") == "success" and entry.get("outputs"):
            return pid, entry
    queue = client.queue()
    queued = {item[1] for key in ("queue_running", "queue_pending") for item in queue.get(key) or [] if len(item) > 1}
    for pid in ids:
        if pid in queued:
            return pid, None
    return None


def _targets(output_path: Path, outputs: list[OutputRef]) -> list[Path]:
    paths = [output_path]
    for i in range(1, len(outputs)):
        ext = Path(outputs[i].filename).suffix or output_path.suffix
        paths.append(output_path.with_name(f"{output_path.stem}_{i}{ext}"))
    return paths


def is_permanent(exc: BaseException) -> bool:
    """Errors another attempt cannot fix: the server rejected the workflow (a missing checkpoint or
    node in ``node_errors``), or the job itself is malformed."""
    return isinstance(exc, (ComfyUIPromptRejected, JobSpecError))


def check_output(job: Job, item: OutputRef, path: Path) -> None:
    """Refuse a download (the file at its temporary ``path``) that is not what the job makes (an
    HTML error page saved as a PNG): it never gets its final name, so it cannot poison a later run."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(64)
    if item.kind == "images" or job.job_type == "image":
        from PIL import Image

        try:
            with Image.open(path) as img:
                img.verify()
        except Exception as exc:  # noqa: BLE001 - any decoder error means the same
            raise ComfyUIError(f"job {job.config_name}: ComfyUI returned {item.filename!r} "
                               f"({size} bytes, starting {head[:16]!r}) that is not an image "
                               f"({exc.__class__.__name__})") from None
    elif not size or head.lstrip()[:1] in (b"<", b"{"):  # an error page or JSON, not audio
        raise ComfyUIError(f"job {job.config_name}: ComfyUI returned {item.filename!r} ({size} bytes) "
                           f"that is not an audio file: {head[:60]!r}")


def process_job(client: ComfyUIClient, job: Job, out_dir_resolver: Callable[[str], Path] | None = None,
                *, on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run one job on ComfyUI and write its files atomically; returns the result metadata.

    ``{"prompt_id", "reused": bool, "outputs": [{"path", "filename", "node_id", "kind", "bytes", "sha256"}]}``.
    Raises JobSpecError for bad metadata and ComfyUIError subclasses for server trouble.
    """
    resolve = out_dir_resolver or Path
    out = job.metadata.get("output_path")
    if not out:
        raise JobSpecError(f"job {job.config_name}: metadata has no output_path")
    output_path = Path(resolve(out))
    timeout = float(job.metadata.get("timeout") or 900)
    workflow = build_workflow(job, client, resolve)

    earlier = _find_earlier_attempt(client, job) if job.run_count > 1 else None
    reused = earlier is not None
    if earlier is None:
        prompt_id = prompt_id_for(job)
        entry = client.run_entry(workflow, prompt_id=prompt_id, timeout=timeout, on_progress=on_progress)
    else:
        prompt_id, entry = earlier
        if entry is None:
            entry = client.wait(prompt_id, timeout=timeout, on_progress=on_progress)
    outputs = client.output_refs(entry)
    if not outputs:
        raise ComfyUIError(f"job {job.config_name}: ComfyUI prompt {prompt_id} finished without saving a file "
                           f"(does the workflow have a Save Image / Save Audio node?)")
    targets = _targets(output_path, outputs)
    # Every file streams to a temporary name and is checked; all get their names only when all
    # passed (an error removes every temporary file).
    with contextlib.ExitStack() as stack:
        temps = [stack.enter_context(atomic_path(path)) for path in targets]
        for item, tmp in zip(outputs, temps):
            client.save(item.info, tmp)
            check_output(job, item, tmp)
    files = [{"path": str(path), "filename": item.filename, "node_id": item.node_id, "kind": item.kind,
              "bytes": path.stat().st_size, "sha256": sha256_file(path)} for path, item in zip(targets, outputs)]
    return {"prompt_id": prompt_id, "reused": reused, "outputs": files}


class _LeaseKeeper:
    """Renews a job's lease from a thread while the job runs."""

    def __init__(self, queue: JobQueue, job: Job, worker_id: str, lease_seconds: float):
        self.queue, self.job, self.worker_id, self.lease_seconds = queue, job, worker_id, lease_seconds
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job.id}", daemon=True)

    def _run(self) -> None:
        interval = max(0.05, self.lease_seconds / 3)
        while not self._stop.wait(interval):
            try:
                if not self.queue.renew(self.job.id, self.worker_id, self.lease_seconds, run_count=self.job.run_count):
                    self.lost.set()
                    return
            except sa.exc.SQLAlchemyError:
                pass  # the catalog hiccupped; the next tick retries before the lease runs out

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def describe_error(exc: BaseException) -> str:
    """One readable line for E3 errors; the traceback for anything unexpected."""
    if isinstance(exc, E3Error):
        return f"{exc.__class__.__name__}: {exc}"
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).strip()


def run_worker(engine: sa.Engine, base_url: str, worker_id: str | None = None, *, once: bool = False,
               idle_exit_after: float | None = None, lease_seconds: float = 300,
               stop_event: threading.Event | None = None, abort_event: threading.Event | None = None,
               log: Callable[[str], None] = print,
               job_types: list[str] | None = None, out_dir_resolver: Callable[[str], Path] | None = None,
               idle_poll: float = 1.0, unreachable_backoff: float = 5.0,
               reclaim_every: float = 2.0) -> dict[str, int]:
    """Process jobs from the queue on the ComfyUI server at ``base_url`` until told to stop.

    Each loop: reclaim expired leases (at most every ``reclaim_every`` seconds), lease a job,
    check the server's health, process the job
    (its lease renewed by a thread), then complete or fail it. ``once``: at most one job.
    ``idle_exit_after``: return after that many seconds without work (0: drain and return).
    ``stop_event``: set it to stop after the current job. ``abort_event``: set it to stop now; the
    current job's wait is abandoned and its lease released (pending again, no attempt counted; a
    rerun finds the prompt on the server if it is still there). A server that cannot be reached fails
    the job with the reason (an attempt counts) and the worker backs off ``unreachable_backoff``
    seconds. Returns ``{"done", "failed", "retried", "lost"}`` counts.
    """
    worker_id = worker_id or default_worker_id()
    stop_event = stop_event or threading.Event()
    abort_event = abort_event or threading.Event()
    queue = JobQueue(engine)
    stats = {"done": 0, "failed": 0, "retried": 0, "lost": 0}
    idle_since = time.monotonic()
    with ComfyUIClient(base_url, client_id=f"e3-{worker_id}-{uuid.uuid4().hex[:8]}") as client:
        client.cancel_event = abort_event
        last_reclaim = float("-inf")
        while not stop_event.is_set() and not abort_event.is_set():
            if time.monotonic() - last_reclaim >= reclaim_every:  # a write; no need before every lease
                last_reclaim = time.monotonic()
                reclaimed = queue.reclaim_expired()
                if reclaimed:
                    log(f"[{worker_id}] reclaimed {reclaimed} job(s) with expired leases")
            job = queue.lease(worker_id, lease_seconds, job_types)
            if job is None:
                if once or (idle_exit_after is not None and time.monotonic() - idle_since >= idle_exit_after):
                    break
                stop_event.wait(idle_poll)
                continue
            backoff = 0.0
            try:
                client.system_stats()
                with _LeaseKeeper(queue, job, worker_id, lease_seconds):
                    result = process_job(client, job, out_dir_resolver)
                queue.complete(job.id, worker_id, result, run_count=job.run_count)
                stats["done"] += 1
                log(f"[{worker_id}] done {job.config_name} -> {result['outputs'][0]['path']}")
            except LeaseLost as exc:
                stats["lost"] += 1
                log(f"[{worker_id}] {exc}; its result is dropped (another attempt owns the job)")
            except ComfyUICancelled as exc:  # stopped, not failed: the job is not to blame
                try:  # free the server too: nobody waits for this prompt any more
                    if exc.prompt_id:
                        client.cancel_prompt(exc.prompt_id)
                except ComfyUIError:
                    pass
                try:
                    queue.release(job.id, worker_id, f"released: {exc}", run_count=job.run_count)
                except sa.exc.SQLAlchemyError as db_exc:  # the lease then expires and is reclaimed
                    log(f"[{worker_id}] could not release {job.config_name}: {db_exc}")
                log(f"[{worker_id}] {job.config_name} released: {exc}")
                break
            except Exception as exc:  # noqa: BLE001 - every failure is stored on the job, the loop goes on
                if isinstance(exc, ComfyUIUnreachable):
                    backoff = unreachable_backoff
                try:
                    after = queue.fail(job.id, worker_id, describe_error(exc), run_count=job.run_count,
                                       permanent=is_permanent(exc))
                except LeaseLost as lost:
                    stats["lost"] += 1
                    log(f"[{worker_id}] {lost}")
                else:
                    stats["failed" if after.status == "failed" else "retried"] += 1
                    log(f"[{worker_id}] {job.config_name} attempt {after.retries_attempted}/{after.retry_limit} "
                        f"failed ({after.status}): {describe_error(exc).splitlines()[-1]}")
            idle_since = time.monotonic()
            if once:
                break
            if backoff:
                stop_event.wait(backoff)
    return stats


@contextlib.contextmanager
def worker_thread(engine: sa.Engine, base_url: str, worker_id: str, **kwargs: Any):
    """Run ``run_worker`` in a background thread for the duration of a ``with`` block."""
    stop = threading.Event()
    result: dict[str, Any] = {}
    t = threading.Thread(target=lambda: result.update(run_worker(engine, base_url, worker_id, stop_event=stop,
                                                                   **kwargs)), daemon=True)
    t.start()
    try:
        yield result
    finally:
        stop.set()
        t.join(timeout=30)
