"""ComfyUI jobs through the ``comfyui_jobs`` queue: any workflow, image or audio (pictures, the
studio's ACE-Step music). ``run_comfyui_tasks`` enqueues the tasks (idempotent on their keys), runs
them on an in-process worker against one server or waits for ``e3 worker comfyui`` processes, and
raises ``GenerationError`` with the reason when a job ends failed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from e3.errors import E3Error
from e3.interrupts import interrupts_held


class GenerationError(E3Error):
    """A picture or track could not be made (a failed ComfyUI job, no server configured, a timeout)."""


def _noop_log(_: str) -> None:
    pass


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


def _summary(trace: str | None) -> str:
    lines = [ln.strip() for ln in (trace or "").strip().splitlines() if ln.strip()]
    text = lines[-1] if lines else "no reason recorded"
    return text if len(text) <= 400 else text[:397] + "..."


DEFAULT_JOB_TIMEOUT = 300.0


def comfyui_job_timeout() -> float:
    """Seconds to wait for one ComfyUI job (``E3_COMFYUI_TIMEOUT``, default 300)."""
    from e3.config import settings

    return settings().comfyui_timeout


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
    from e3.comfyui.queue import JobQueue

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
        from e3.comfyui.worker import default_worker_id, run_worker

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


