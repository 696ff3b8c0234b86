"""Core commands: init, add, produce, status, demo."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import click

from e3.errors import E3Error


def _settings():
    from e3.config import load_settings

    return load_settings()


def _engine(settings=None, *, migrate: bool = False):
    """The catalog engine; with ``migrate`` the schema is created or upgraded first."""
    from e3.catalog.db import cached_engine, check_connection
    from e3.catalog.service import init_catalog

    settings = settings or _settings()
    if migrate:
        return init_catalog(settings.database_url)
    engine = cached_engine(settings.database_url)
    check_connection(engine)
    return engine


def _foundry(settings=None):
    from e3.foundry import Foundry

    settings = settings or _settings()
    foundry = Foundry(settings.foundry)
    foundry.ensure()
    return foundry


def dagster_instance():
    """The Dagster instance (DAGSTER_HOME prepared by e3 when unset)."""
    import dagster as dg

    from e3.dagster_home import ensure_dagster_home

    ensure_dagster_home(_settings())
    return dg.DagsterInstance.get()


def add_partition(partitions_name: str, key: str) -> None:
    with dagster_instance() as instance:
        if not instance.has_dynamic_partition(partitions_name, key):
            instance.add_dynamic_partitions(partitions_name, [key])


# ---------------------------------------------------------------------------------------------


@click.command("init")
def init_command() -> None:
    """Create or migrate the catalog and seed the default narrator (the bundled Piper voice)."""
    from e3.catalog.db import redact

    settings = _settings()
    _engine(settings, migrate=True)
    _foundry(settings)
    from e3.dagster_home import ensure_dagster_home

    home = ensure_dagster_home(settings)
    click.echo(f"catalog  {redact(settings.database_url)} (E3_ENV={settings.env})")
    click.echo(f"foundry  {settings.foundry}")
    click.echo(f"dagster  {home}")


@click.command("add")
@click.argument("source")
@click.option("--book-id", help="Book id to use ([a-z0-9-]); default: pg<N> for Gutenberg, else from the file name.")
def add_command(source: str, book_id: str | None) -> None:
    """Register a book from a PATH, a URL or a Project Gutenberg id (98 or pg98).

    The book is parsed once to check that it is readable; nothing is written when it is not.
    Prints the book id.
    """
    from e3.intake import add_book

    settings = _settings()
    engine = _engine(settings, migrate=True)
    added = add_book(engine, _foundry(settings), source, book_id)
    add_partition("books", added.book_id)
    click.echo(added.book_id)
    click.echo(
        f"added {added.title!r}" + (f" by {added.author}" if added.author else "")
        + f" ({added.source_format}, {added.chapters} chapters)", err=True,
    )


def _selection_for(select: str | None) -> str:
    from e3_assets.definitions import audiobook_job_asset_keys

    if select:
        return select
    return ",".join(audiobook_job_asset_keys())


class _ProgressWatcher(threading.Thread):
    """Shows a book's progress from the catalog while a run executes (any process may write it)."""

    def __init__(self, engine, book_id: str, steps: list[str]):
        super().__init__(daemon=True)
        self.engine, self.book_id, self.steps = engine, book_id, steps
        self.stop_event = threading.Event()

    def run(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from e3.catalog.status import book_status

        with Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), transient=False) as progress:
            steps_task = progress.add_task(f"{self.book_id}: steps", total=len(self.steps))
            chunks_task = progress.add_task("narration chunks", total=None, visible=False)
            while True:
                stopping = self.stop_event.is_set()
                try:
                    status = book_status(self.engine, self.book_id) or {}
                except Exception:  # noqa: BLE001 - a busy SQLite file must not kill the bar
                    status = {}
                done = sum(1 for s in self.steps if status.get(f"{s}_status") == "completed")
                running = [s for s in self.steps if status.get(f"{s}_status") == "processing"]
                progress.update(steps_task, completed=done,
                                description=f"{self.book_id}: {running[0] if running else 'steps'}"[:28])
                total_chunks = status.get("total_chunks")
                if total_chunks:
                    progress.update(chunks_task, visible=True, total=total_chunks,
                                    completed=min(status.get("audio_jobs_completed") or 0, total_chunks))
                if stopping:
                    break
                self.stop_event.wait(0.5)


def _steps_of(selection: str) -> list[str]:
    """The catalog steps the selected assets move (``e3.catalog.status.ASSET_STEPS``), in order."""
    from e3.catalog.status import ASSET_STEPS

    return [step for asset in selection.split(",") for step in ASSET_STEPS.get(asset, ())]


def materialize_partition(select: str, partition: str, *, log_level: str = "WARNING",
                          executor: str | None = None, started_by: str | None = None) -> None:
    """Materialize assets for one partition as their named Dagster job (``audiobook_job``,
    ``merge_job`` or ``channel_video_job``), tagged with what started the run.

    The same code path as ``dagster asset materialize``. ``executor`` picks the run's executor:
    ``in_process`` (steps that need many cores, like TTS, run their own worker pools),
    ``multiprocess`` (one process per step) or ``celery`` (steps go to `e3 worker celery`
    processes); default: ``E3_EXECUTOR``, else in_process. Raises E3Error when the run fails.
    """
    import logging
    import sys

    from e3_assets.distributed import executor_kind
    from e3_assets.launch import run_partition

    executor = executor or executor_kind()

    # The orchestrating process logs step starts through the "dagster" logger; keep it as quiet.
    logging.getLogger("dagster").setLevel(log_level.upper())
    command = started_by or "e3 " + " ".join(sys.argv[1:2])
    tags = {"e3/started_by": command.strip(), "e3/executor": executor}
    with dagster_instance() as instance:
        try:
            success, run_id = run_partition([a for a in select.split(",") if a], partition, instance=instance,
                                            tags=tags, log_level=log_level, executor=executor)
        except ValueError as exc:
            raise E3Error(str(exc)) from None
        if not success:
            raise E3Error(f"the run for {partition} failed (run {run_id[:8]})")


class BookLock:
    """One `e3 produce` per book at a time; a lock left by a killed process is taken over.

    Taking over also closes the dead process's runs: they are reported failed and their
    concurrency-pool slots freed, or the rerun would wait forever for the "tts" slot.
    """

    def __init__(self, instance, book_id: str):
        import os

        self.instance, self.book_id = instance, book_id
        folder = Path(os.environ["DAGSTER_HOME"]) / "e3-produce"
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{book_id}.pid"

    def __enter__(self):
        import fcntl
        import os

        # An advisory flock is atomic and dies with its holder: two processes entering together
        # cannot both hold it, and a killed holder's lock is free at once.
        self._fh = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh.seek(0)
            holder = self._fh.read().strip() or "another process"
            self._fh.close()
            raise E3Error(f"{self.book_id} is already being produced by process {holder}") from None
        self._fh.seek(0)
        previous = self._fh.read().strip()
        if previous and previous != str(os.getpid()):  # its holder died without cleaning up
            closed = self._close_orphan_runs(self.path.stat().st_mtime)
            if closed:
                click.echo(f"{self.book_id}: closed {closed} run(s) left by a stopped `e3 produce`; resuming",
                           err=True)
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(str(os.getpid()))
        self._fh.flush()
        return self

    def _close_orphan_runs(self, since: float) -> int:
        import dagster as dg

        records = self.instance.get_run_records(dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.NOT_STARTED],
            tags={"dagster/partition": self.book_id},
        ))
        closed = 0
        for record in records:
            if record.create_timestamp.timestamp() < since - 1:
                continue
            run = record.dagster_run
            self.instance.report_run_failed(run, "the `e3 produce` process running it was stopped")
            self.instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            closed += 1
        return closed

    def __exit__(self, *exc):
        import fcntl

        # Emptied, not removed: removing a locked file would let a third process lock a new one.
        self._fh.seek(0)
        self._fh.truncate()
        fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
        self._fh.close()
        return False


@click.command("produce")
@click.argument("book_ids", nargs=-1)
@click.option("--all-pending", is_flag=True, help="Every book in the catalog whose production is not completed.")
@click.option("--select", help="Comma-separated assets to materialize (default: every book asset).")
@click.option("--log-level", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="Dagster log level printed while running; DEBUG and INFO also print Dagster's "
                   "error reports (else a failure is one line; the details are in the run's event log).")
@click.option("--executor", default=None, type=click.Choice(["in_process", "multiprocess", "celery"]),
              help="Run every step in this process, each step in its own process, or on the celery "
                   "workers (needs E3_EXECUTOR=celery). Default: E3_EXECUTOR, else in_process.")
@click.option("--queue", "queue", is_flag=True,
              help="Submit one run per book to the Dagster run queue and return; dagster-daemon starts "
                   "them within dagster.yaml's limits (`make ui` runs a daemon).")
def produce_command(book_ids: tuple[str, ...] = (), all_pending: bool = False, select: str | None = None,
                    log_level: str = "WARNING", executor: str | None = None, queue: bool = False) -> None:
    """Materialize the assets of BOOK_IDS (or of --all-pending books) through Dagster, with progress.

    Each book runs as the named job `audiobook_job` (tagged e3/started_by and e3/kind=audiobook),
    the same assets `dagster asset materialize -m e3_assets.definitions --partition BOOK_ID --select ...`
    runs. Several books run here one after the other; with --queue they wait in the run queue
    instead. A rerun resumes: finished chunks and files are not made again.
    """
    from e3.catalog.service import book_exists, pending_book_ids

    ids = list(dict.fromkeys(book_ids))
    engine = _engine(_settings(), migrate=True)
    if all_pending:
        ids += [b for b in pending_book_ids(engine) if b not in ids]
    if not ids:
        raise E3Error("name at least one book id, or pass --all-pending" if not all_pending
                      else "no pending books: every book in the catalog is completed")
    for bid in ids:
        if not book_exists(engine, bid):
            raise E3Error(f"book {bid!r} is not in the catalog; add it with `e3 add`")
    if queue:
        _queue_books(ids, _selection_for(select))
        return
    failed = []
    for bid in ids:
        try:
            _produce_one(bid, select, log_level, executor)
        except E3Error as exc:
            if len(ids) == 1:
                raise
            click.secho(f"error: {exc}", fg="red", err=True)  # the other books still run
            failed.append(bid)
    if failed:
        raise E3Error(f"{len(failed)} of {len(ids)} books failed: {', '.join(failed)}")


def _queue_books(book_ids: list[str], selection: str) -> None:
    import sys

    from e3_assets.launch import submit_partitions

    for bid in book_ids:
        add_partition("books", bid)
    tags = {"e3/started_by": ("e3 " + " ".join(sys.argv[1:2])).strip()}
    with dagster_instance() as instance:
        try:
            run_ids = submit_partitions([a for a in selection.split(",") if a], book_ids, instance=instance,
                                        tags=tags)
        except ValueError as exc:
            raise E3Error(str(exc)) from None
    for bid, run_id in zip(book_ids, run_ids, strict=True):
        click.echo(f"{bid}: queued run {run_id}")
    click.echo(f"{len(run_ids)} run(s) queued; dagster-daemon starts them within dagster.yaml's run limits",
               err=True)


def _produce_one(book_id: str, select: str | None, log_level: str, executor: str | None) -> None:
    from e3.catalog.status import book_status

    settings = _settings()
    engine = _engine(settings, migrate=True)
    add_partition("books", book_id)
    selection = _selection_for(select)
    steps = _steps_of(selection)
    watcher = _ProgressWatcher(engine, book_id, steps)
    failure = line = None
    # Dagster's console logger prints every failure with its stack trace (several times); below
    # INFO the terminal gets one line instead and the traces stay in the event log and a log file.
    console_level = log_level if log_level.upper() in ("DEBUG", "INFO") else "CRITICAL"
    started = time.time()
    with dagster_instance() as instance, BookLock(instance, book_id):
        watcher.start()
        try:
            materialize_partition(selection, book_id, log_level=console_level, executor=executor)
        except E3Error as exc:
            failure = exc
        finally:
            watcher.stop_event.set()
            watcher.join(timeout=5)
        if failure is not None:
            line = _failure_line(instance, book_id, started)
    status = book_status(engine, book_id) or {}
    if failure is not None:
        if line is None:
            reason = (status.get("last_error") or {}).get("message")
            line = f"{book_id}: {_strip_prefix(reason, book_id)}" if reason else str(failure)
        raise E3Error(line)
    _print_outputs(settings, book_id)


def _strip_prefix(message: str, book_id: str) -> str:
    return message[len(book_id) + 2:] if message.startswith(f"{book_id}: ") else message


def _error_cause(error) -> str:
    """The first line of the user's exception, without Dagster's wrapper and module path."""
    # "Exceeded max_retries of 2" (a RetryRequested) says nothing: its cause is the real error.
    while error.cause is not None and ((error.cls_name or "").startswith("Dagster") or "Retry" in (error.cls_name or "")
                                       or (error.message or "").startswith("Exceeded max_retries")):
        error = error.cause
    lines = [ln for ln in (error.message or "").strip().splitlines() if ln.strip()]
    first = lines[0] if lines else (error.cls_name or "unknown error")
    head, sep, rest = first.partition(": ")
    if sep and "." in head and " " not in head:  # "e3.media.m4b.M4BError: ..." -> "M4BError: ..."
        first = f"{head.rsplit('.', 1)[1]}: {rest}"
    return first


def _failure_line(instance, book_id: str, since: float) -> str | None:
    """One line for the latest failed run of ``book_id``: the failing asset and the cause.

    Every failed step's full report (stack traces included) goes to
    ``$DAGSTER_HOME/e3-produce/<book>.error.log``; the line names that file.
    """
    import datetime as dt
    import os

    import dagster as dg

    try:
        records = instance.get_run_records(dg.RunsFilter(
            tags={"dagster/partition": book_id}, statuses=[dg.DagsterRunStatus.FAILURE],
            created_after=dt.datetime.fromtimestamp(since - 1, dt.timezone.utc)), limit=1)
        if not records:
            return None
        run_id = records[0].dagster_run.run_id
        failures = [e.dagster_event for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
                    if e.dagster_event is not None]
    except Exception:  # noqa: BLE001 - the fallback line is still better than a second traceback
        return None
    if not failures:
        return None
    log_path = Path(os.environ["DAGSTER_HOME"]) / "e3-produce" / f"{book_id}.error.log"
    report = [f"run {run_id} ({book_id}) failed; the Dagster UI (`make ui`) shows the same run\n"]
    for event in failures:
        data = event.step_failure_data
        report.append(f"--- step {event.step_key}\n{data.error.to_string() if data.error else ''}\n")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text("\n".join(report), encoding="utf-8")
    event = failures[0]
    data = event.step_failure_data
    description = data.user_failure_data.description if data.user_failure_data else None
    cause = description or (_error_cause(data.error) if data.error else "failed")
    cause = " ".join(_strip_prefix(cause, book_id).split())
    return f"{book_id}: {event.step_key} failed: {cause} (details: {log_path}, run {run_id[:8]})"


def _print_outputs(settings, book_id: str) -> None:
    from e3.foundry import Foundry

    paths = Foundry(settings.foundry).book(book_id)
    candidates = [
        ("parsed chapters", paths.parse_metadata),
        ("chunk plan", paths.chunk_plan),
        ("audiobook", paths.m4b(book_id)),
        ("subtitles (SRT)", paths.srt(book_id)),
        ("subtitles (VTT)", paths.vtt(book_id)),
        ("image prompts", paths.image_prompts),
    ]
    for label, path in candidates:
        if path.is_file():
            click.echo(f"{label:<16} {path}")
    scenes = sorted(paths.images.glob("scene-*.png")) if paths.images.is_dir() else []
    if scenes:
        click.echo(f"{'illustrations':<16} {paths.images} ({len(scenes)} pictures)")
    for video in sorted(paths.videos.glob("*.mp4")) if paths.videos.is_dir() else []:
        click.echo(f"{'video':<16} {video}")


@click.command("status")
@click.argument("book_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status_command(book_id: str | None, as_json: bool) -> None:
    """Show the catalog's view of one book, or of every book."""
    from rich.console import Console
    from rich.table import Table

    from e3.catalog.service import all_book_ids
    from e3.catalog.status import book_status

    engine = _engine(migrate=True)
    if book_id:
        status = book_status(engine, book_id)
        if status is None:
            raise E3Error(f"book {book_id!r} is not in the catalog")
        rows = [status]
    else:
        rows = [book_status(engine, b) for b in all_book_ids(engine)]
    if as_json:
        click.echo(json.dumps(rows[0] if book_id else rows, indent=2, default=str))
        return
    console = Console()
    if book_id:
        table = Table(title=f"{book_id}: {rows[0].get('title') or ''}", show_header=False)
        for key, value in rows[0].items():
            table.add_row(key, json.dumps(value, default=str) if isinstance(value, dict) else str(value))
        console.print(table)
        return
    table = Table(title="E3 catalog")
    for column in ("book_id", "title", "status", "parse", "audio", "m4b", "subtitles", "images", "video"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["book_id"], (r.get("title") or "")[:40], r.get("status", "-"),
                      r.get("parse_novel_status", "-"), r.get("audio_generation_status", "-"),
                      r.get("audio_combination_status", "-"), r.get("subtitle_generation_status", "-"),
                      r.get("image_generation_status", "-"), r.get("video_generation_status", "-"))
    console.print(table)


@click.command("demo")
@click.option("--book-id", default="e3-demo", show_default=True, help="Book id of the sample book.")
@click.option("--select", help="Comma-separated assets (default: everything E3 can make for a book).")
def demo_command(book_id: str, select: str | None) -> None:
    """Make a short sample book (written by E3 itself), add it and produce everything for it.

    Runs on the embedded defaults: SQLite catalog, Piper voice, built-in painter; no servers, no keys.
    Running it again resumes and reuses finished work.
    """
    from e3.catalog.service import book_exists
    from e3.demo_book import write_demo_book
    from e3.intake import add_book

    settings = _settings()
    engine = _engine(settings, migrate=True)
    foundry = _foundry(settings)
    source = write_demo_book(foundry.cache / "demo")
    if not book_exists(engine, book_id):
        add_book(engine, foundry, str(source), book_id)
        click.echo(f"added the demo book as {book_id}")
    ctx = click.get_current_context()
    ctx.invoke(produce_command, book_ids=(book_id,), select=select, log_level="WARNING")
    click.echo(f"catalog: `e3 status {book_id}`; foundry folder: {Path(settings.foundry) / book_id}")


def register(group: click.Group) -> None:
    for command in (init_command, add_command, produce_command, status_command, demo_command):
        group.add_command(command)
