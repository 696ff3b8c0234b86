"""Picture commands: `e3 worker comfyui` (the queue worker) and `e3 images prompts`."""

from __future__ import annotations

import json
import signal
import threading

import click

from e3.errors import E3Error


@click.group("worker")
def worker_group() -> None:
    """Long-running workers that take jobs from the catalog's queues."""


@worker_group.command("comfyui")
@click.option("--url", envvar="E3_COMFYUI_URL", required=True, show_envvar=True,
              help="The ComfyUI server this worker drives, e.g. http://127.0.0.1:8188.")
@click.option("--worker-id", default=None, help="Name stored on the jobs it leases (default: host-pid).")
@click.option("--once", is_flag=True, help="Process at most one job, then exit.")
@click.option("--idle-exit", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="Exit after this many seconds without a pending job (0: drain the queue and exit). "
                   "Default: run until stopped.")
@click.option("--lease", "lease_seconds", type=click.FloatRange(min=1), default=300, show_default=True,
              metavar="SECONDS", help="Lease length; renewed while a job runs, reclaimed by any worker "
                                      "when this worker dies.")
@click.option("--type", "job_types", multiple=True, type=click.Choice(["image", "audio"]),
              help="Only these job types (repeatable; default: all).")
def worker_comfyui_command(url: str, worker_id: str | None, once: bool, idle_exit: float | None,
                           lease_seconds: float, job_types: tuple[str, ...]) -> None:
    """Run ComfyUI jobs from the comfyui_jobs queue on the server at URL.

    Start one worker per ComfyUI server; they share one queue (lowest priority first, leases so no
    job runs twice, failed jobs retried up to their limit). Relative output paths in a job are
    resolved against the foundry. Ctrl-C (or SIGTERM) stops after the current job; a second one
    stops at once and gives the job back to the queue (pending, no attempt counted).
    """
    from e3.cli.core import _engine, _foundry
    from e3.comfyui.client import redact_url
    from e3.comfyui.worker import default_worker_id, run_worker

    if not url.startswith(("http://", "https://")):
        raise E3Error(f"--url must start with http:// or https://, not {url!r}")
    engine = _engine()
    root = _foundry().root
    worker_id = worker_id or default_worker_id()
    stop, abort = threading.Event(), threading.Event()

    def on_signal(signum, frame):  # noqa: ARG001
        if abort.is_set():
            raise KeyboardInterrupt
        if stop.is_set():
            click.echo(f"[{worker_id}] stopping now; the current job goes back to the queue", err=True)
            abort.set()
            return
        click.echo(f"[{worker_id}] stopping after the current job (again to stop now)", err=True)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
    click.echo(f"[{worker_id}] worker on {redact_url(url)}, lease {lease_seconds:g}s")
    stats = run_worker(engine, url, worker_id, once=once, idle_exit_after=idle_exit, lease_seconds=lease_seconds,
                       stop_event=stop, abort_event=abort, log=click.echo, job_types=list(job_types) or None,
                       out_dir_resolver=lambda p: root / p)
    click.echo(f"[{worker_id}] finished: {stats['done']} done, {stats['retried']} to retry, "
               f"{stats['failed']} failed, {stats['lost']} lost leases")


@click.group("images")
def images_group() -> None:
    """A book's image prompts and illustrations."""


@images_group.command("prompts")
@click.argument("book_id")
@click.option("--json", "as_json", is_flag=True, help="Print images/prompts.json as it is.")
def images_prompts_command(book_id: str, as_json: bool) -> None:
    """Print the scene prompts of BOOK_ID (made by the image_prompts asset)."""
    from e3.cli.core import _foundry
    from e3.foundry import validate_book_id

    path = _foundry().book(validate_book_id(book_id)).image_prompts
    if not path.is_file():
        raise E3Error(f"{book_id}: no image prompts yet ({path}); run `e3 produce {book_id} --select image_prompts`")
    data = json.loads(path.read_text(encoding="utf-8"))
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    writer = data.get("provider", "?") + (f" ({data['model']})" if data.get("model") else "")
    click.echo(f"{book_id}: {len(data.get('scenes', []))} scenes, written by {writer}")
    for scene in data.get("scenes", []):
        click.echo(f"- chapter {scene.get('chapter_index', 0) + 1}, scene {scene.get('position', '?')}"
                   f" [{scene.get('style', '')}]")
        click.echo(f"  {scene.get('prompt', '')}")


def register(group: click.Group) -> None:
    existing = group.commands.get("worker")
    if isinstance(existing, click.Group):  # another domain made the group first
        existing.add_command(worker_comfyui_command)
    else:
        group.add_command(worker_group)
    group.add_command(images_group)
