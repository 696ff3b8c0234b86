"""Merge commands: `e3 merge` and `e3 jobs list|show|delete|clear` (the merger's JobService)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import click

from e3.errors import E3Error


def _service(migrate: bool = True):
    from e3.cli.core import _engine, _foundry, _settings
    from e3.merge.jobs import JobService

    settings = _settings()
    return JobService(_engine(settings, migrate=migrate), _foundry(settings))


class _MergeProgress(threading.Thread):
    """A rich bar fed by ``_merges/<key>/progress.json``, which the merged_m4b asset writes."""

    def __init__(self, folder: Path, label: str):
        super().__init__(daemon=True)
        self.folder, self.label = folder, label
        self.stop_event = threading.Event()

    def run(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from e3.merge.jobs import read_progress

        with Progress(TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.fields[audio]}"), TimeElapsedColumn(),
                      console=Console(stderr=True), transient=False) as progress:  # stdout: the path only
            task = progress.add_task(self.label, total=None, audio="probing inputs")
            while True:
                stopping = self.stop_event.is_set()
                state = read_progress(self.folder)
                if state:
                    progress.update(task, completed=state[0], total=max(state[1], 0.001),
                                    audio=f"{state[0]:.0f}/{state[1]:.0f} s of audio")
                if stopping:
                    break
                self.stop_event.wait(0.3)


@click.command("merge")
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="The .m4b to write (default: <foundry>/_merges/<key>/<key>.m4b).")
@click.option("--title", help="Album title (default: the first file's album tag, else the first folder's name).")
@click.option("--author", help="Author/artist (default: the first file's artist tag).")
@click.option("--chapters", type=click.Choice(["per-file", "per-folder"]), default="per-file", show_default=True,
              help="One chapter per file (titles from tags, else cleaned file names) or per folder.")
@click.option("--normalize", is_flag=True,
              help="Normalize loudness to the audiobook target (-18 LUFS, -1.5 dBTP); always re-encodes.")
@click.option("--no-progress", is_flag=True, help="Do not draw the progress bar.")
@click.option("--force", is_flag=True, help="Replace the -o file if it exists (else an existing file is refused).")
@click.option("--subtitles", is_flag=True,
              help="Also transcribe the m4b (speech recognizer, the asr extra) into .srt, .vtt, "
                   ".words.vtt and a .txt transcript beside it, chapter by chapter.")
def merge_command(folders: tuple[Path, ...], output: Path | None, title: str | None, author: str | None,
                  chapters: str, normalize: bool, no_progress: bool, force: bool, subtitles: bool) -> None:
    """Merge audio FOLDERS (in the given order) into one chaptered m4b, through Dagster.

    Reads mp3, m4a, m4b, aac, flac, ogg, opus and wav; files sort naturally inside each folder
    ("2" before "10"). Tags (album, artist, year) and the cover (embedded, else cover.* or
    folder.*) carry over. Inputs that are all the same AAC are joined without re-encoding.

    Folders must lie inside E3_MERGE_ROOTS (os.pathsep-separated; default: your own home
    folder); '..' and symlinks leading out are refused. An existing -o file is kept unless
    --force is given. Creates a `jobs` row, adds the
    partition mj-<12 hex> to the `merges` set and materializes `merged_m4b` for it. Prints the
    output path, and the job id on stderr. With --subtitles, then prints the subtitle paths.
    """
    from e3.cli.core import add_partition, materialize_partition
    from e3.merge.jobs import merge_roots, partition_key, validate_folders

    service = _service()
    if subtitles:
        from e3.narration.listen import require_installed

        require_installed()
    # Refuse bad folders, and an output that would silently replace a file, before anything is written.
    if output is not None and output.exists() and not force:
        raise E3Error(f"{output} already exists; pass --force to replace it, or choose another -o")
    dirs = validate_folders(list(folders), merge_roots())
    job = service.create_job(dirs, output, title=title, author=author, chapters=chapters, loudness=normalize)
    key = partition_key(job)
    click.echo(f"job {job.id} ({key}): {len(dirs)} folder(s) -> {job.output_file}", err=True)
    add_partition("merges", key)
    watcher = None if no_progress else _MergeProgress(service.foundry.merge_job(key), f"merging {key}")
    failure = None
    if watcher:
        watcher.start()
    try:
        # The reason is read back from the jobs row; Dagster's own error dump would repeat it.
        materialize_partition("merged_m4b", key, log_level="CRITICAL")
    except E3Error as exc:
        failure = exc
    finally:
        if watcher:
            watcher.stop_event.set()
            watcher.join(timeout=5)
    row = service.get_job(job.id)
    if failure is not None or row is None or row.status != "completed":
        reason = (row.log if row is not None and row.status == "failed" and row.log else None) or str(failure)
        raise E3Error(f"merge job {key} failed: {reason}")
    click.echo(row.output_file)
    click.echo(row.log or "", err=True)
    if subtitles:
        from e3.cli.listen import write_subtitles

        write_subtitles(Path(row.output_file))


def _fmt_time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


@click.group("jobs")
def jobs_group() -> None:
    """Merge jobs (the merger's `jobs` table): list, show, delete, clear."""


@jobs_group.command("list")
@click.option("--status", type=click.Choice(["queued", "running", "completed", "failed"]), help="Only this status.")
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True, help="At most this many rows.")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True, help="Skip this many rows first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def jobs_list(status: str | None, limit: int, offset: int, as_json: bool) -> None:
    """List merge jobs, newest first."""
    from rich.console import Console
    from rich.table import Table

    from e3.merge.jobs import JobView

    service = _service()
    views = [JobView.of(j) for j in service.get_jobs(status=status, limit=limit, offset=offset)]
    if as_json:
        click.echo(json.dumps([v.as_dict() for v in views], indent=2))
        return
    table = Table(title="merge jobs")
    for column in ("id", "status", "folders", "output", "created", "ended"):
        table.add_column(column, overflow="fold")
    for v in views:
        table.add_row(v.id.hex[:12], v.status, str(len(v.input_folders)), v.output_file or "-",
                      _fmt_time(v.created_at), _fmt_time(v.end_time))
    Console(width=160).print(table)


@jobs_group.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def jobs_show(job_id: str, as_json: bool) -> None:
    """Show one merge job; JOB_ID may be a unique prefix of its id or its key mj-<12 hex>."""
    from e3.merge.jobs import JobView

    service = _service()
    job = service.require_job(job_id)
    view = JobView.of(job)
    data = view.as_dict()
    data["options"] = service.options(job).to_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for name in ("id", "key", "status", "output_file", "start_time", "end_time", "created_at", "log"):
        click.echo(f"{name:<12} {data[name] if data[name] is not None else '-'}")
    click.echo(f"{'folders':<12} " + "\n             ".join(view.input_folders))
    click.echo(f"{'options':<12} {json.dumps(data['options'])}")


@jobs_group.command("delete")
@click.argument("job_id")
def jobs_delete(job_id: str) -> None:
    """Delete one merge job (its row and _merges/<key> folder; an output elsewhere is kept)."""
    from e3.cli.core import dagster_instance
    from e3.merge.jobs import partition_key

    service = _service()
    job = service.require_job(job_id)
    if job.status == "running":
        raise E3Error(f"merge job {job.id} is running; delete it when it has finished")
    service.delete_job(job.id)
    _forget_partitions([partition_key(job)], dagster_instance)
    click.echo(f"deleted {job.id}")


@jobs_group.command("clear")
@click.option("--days", type=click.IntRange(min=0), default=30, show_default=True,
              help="Delete completed and failed jobs that ended more than this many days ago.")
def jobs_clear(days: int) -> None:
    """Delete old finished (completed or failed) merge jobs; queued and running ones stay."""
    service = _service()
    removed = service.clear_old_jobs(days_old=days)
    click.echo(f"deleted {removed} job(s) older than {days} day(s)")


def _forget_partitions(keys: list[str], dagster_instance) -> None:
    """Drop the jobs' ``merges`` partitions too, so the UI does not list deleted jobs."""
    try:
        with dagster_instance() as instance:
            for key in keys:
                if instance.has_dynamic_partition("merges", key):
                    instance.delete_dynamic_partition("merges", key)
    except Exception:  # noqa: BLE001 - the catalog row is gone either way; a stale key is harmless
        pass


def register(group: click.Group) -> None:
    group.add_command(merge_command)
    group.add_command(jobs_group)
