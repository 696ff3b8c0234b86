"""Channel studio and renderer commands: `e3 channel ...` and `e3 video ...`."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import click

from e3.errors import E3Error

CHANNEL_ASSETS = ("video_plan", "music_tracks", "background_images", "channel_video", "export_package")


def _engine():
    from e3.cli.core import _engine as engine

    return engine(migrate=True)


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*[("" if v is None else str(v)) for v in r])
    Console().print(table)


# ------------------------------------------------------------------------------------- channel

@click.group("channel")
def channel_group() -> None:
    """Channels of the background-music studio (seed 004's `channels` table)."""


@channel_group.command("add")
@click.argument("name")
@click.option("--niche", required=True, help='The channel\'s brand niche, e.g. "Royal Court Ambience".')
@click.option("--youtube-channel-id", default=None, help="Its YouTube channel id (optional, unique).")
def channel_add(name: str, niche: str, youtube_channel_id: str | None) -> None:
    """Add an active channel NAME (names are unique; other commands refer to it by name)."""
    from e3.studio import add_channel

    channel = add_channel(_engine(), name, niche, youtube_channel_id)
    click.echo(f"added channel {channel.name!r} ({channel.brand_niche})")


@channel_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def channel_list(as_json: bool) -> None:
    """Every channel with its niche and job counts."""
    from e3.studio import list_channels

    rows = list_channels(_engine())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    _table("channels", ["name", "niche", "youtube id", "active", "jobs", "completed"],
           [[r["name"], r["niche"], r["youtube_channel_id"], "yes" if r["active"] else "no", r["jobs"],
             r["completed"]] for r in rows])


@channel_group.command("connect")
@click.argument("name")
@click.option("--client-secrets", "secrets", default=None, type=click.Path(exists=True, dir_okay=False),
              help="The OAuth client JSON of a Desktop app (default: E3_YOUTUBE_CLIENT_SECRETS).")
def channel_connect(name: str, secrets: str | None) -> None:
    """Connect channel NAME to YouTube: Google's sign-in opens in a browser (OAuth for installed apps).

    The refresh token is stored encrypted with a key from E3_SECRET_KEY; it is never printed.
    """
    from e3.video.youtube_upload import connect_channel

    connect_channel(_engine(), name, secrets)
    click.echo(f"channel {name!r} connected to YouTube")


# ------------------------------------------------------------------------------------- video

@click.group("video")
def video_group() -> None:
    """Channel videos (60-90 minutes of music over 20 pictures) and the still-image renderer.

    A job goes planned -> generating_music -> generating_image -> rendering -> ready_for_export
    -> completed (or failed, with the reason). The video_jobs_sensor runs new planned jobs when the
    Dagster daemon is up; `e3 video produce KEY` runs one here instead.
    """


@video_group.command("new")
@click.option("--channel", "channel_name", required=True, help="The channel's name (`e3 channel list`).")
@click.option("--minutes", required=True, type=click.IntRange(60, 90),
              help="Target length, 60-90 minutes (20 tracks of 3-4.5 minutes).")
@click.option("--mood", required=True, help='Comma-separated mood words, e.g. "elegant, classical".')
@click.option("--niche", default=None, help="The video's niche label (default: the channel's niche).")
def video_new(channel_name: str, minutes: int, mood: str, niche: str | None) -> None:
    """Plan a video job for a channel; prints its key (vj-...).

    The job waits in `planned` until the video_jobs_sensor (or `e3 video produce KEY`) runs it.
    """
    from e3.cli.core import _foundry
    from e3.studio import new_video_job

    job = new_video_job(_engine(), _foundry().root, channel_name, minutes, mood, niche)
    click.echo(job.partition_key)
    click.echo(f"planned {minutes} minutes of {job.mood_keywords!r} for {channel_name!r} in {job.output_directory}",
               err=True)


@video_group.command("list")
@click.option("--channel", "channel_name", default=None, help="Only this channel's jobs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def video_list(channel_name: str | None, as_json: bool) -> None:
    """Video jobs, newest first."""
    from e3.studio import list_jobs

    rows = list_jobs(_engine(), channel_name)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    _table("video jobs", ["key", "channel", "status", "minutes", "mood", "error"],
           [[r["key"], r["channel"], r["status"], r["minutes"], r["mood"], (r["error"] or "")[:60]] for r in rows])


@video_group.command("status")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def video_status(key: str, as_json: bool) -> None:
    """One job: status, tracks, images, render tasks, paths and the last error."""
    from e3.studio import job_status

    status = job_status(_engine(), key)
    if as_json:
        click.echo(json.dumps(status, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{key} ({status['channel']})", show_header=False)
    for k, v in status.items():
        table.add_row(k, json.dumps(v, default=str) if isinstance(v, (list, dict)) else str(v))
    Console().print(table)


@video_group.command("produce")
@click.argument("key")
@click.option("--select", default=",".join(CHANNEL_ASSETS), show_default=True,
              help="Comma-separated channel assets to materialize.")
@click.option("--log-level", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="Dagster log level printed while running.")
def video_produce(key: str, select: str, log_level: str) -> None:
    """Run job KEY's assets here, through Dagster (for machines without the daemon).

    Same as `dagster asset materialize -m e3_assets.definitions --partition KEY --select ...`.
    A rerun resumes: finished tracks, pictures and renders are reused.
    """
    from e3.cli.core import add_partition, materialize_partition
    from e3.studio import job_status, load_job

    engine = _engine()
    job = load_job(engine, key)
    if job.status == "completed":
        raise E3Error(f"{key} is already completed")
    add_partition("video_jobs", key)
    stop = threading.Event()

    def watch() -> None:
        last = None
        while not stop.wait(0.5):
            try:
                current = load_job(engine, key).status
            except Exception:  # noqa: BLE001 - a busy SQLite file must not kill the watcher
                continue
            if current != last:
                click.echo(f"{key}: {current}", err=True)
                last = current

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    failure = None
    try:
        materialize_partition(select, key, log_level=log_level)
    except E3Error as exc:
        failure = exc
    finally:
        stop.set()
        watcher.join(timeout=2)
    status = job_status(engine, key)
    if failure is not None or status["status"] == "failed":
        raise E3Error(f"{key}: {status['error'] or failure}")
    click.echo(f"{key}: {status['status']}")
    if status["video"]:
        click.echo(f"video   {status['video']}")
        click.echo(f"export  {Path(status['output_directory']) / 'export'}")


@video_group.command("complete")
@click.argument("key")
def video_complete(key: str) -> None:
    """Mark job KEY completed (after uploading its export folder); only from ready_for_export."""
    from e3.studio import complete

    complete(_engine(), key)
    click.echo(f"{key}: completed")


@video_group.command("upload")
@click.argument("key")
@click.option("--publish-at", default=None, type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
              help="Upload private and publish at this UTC time (upload_strategy scheduled); "
                   "default: the job's upload_strategy, public when unset.")
def video_upload(key: str, publish_at) -> None:
    """Upload job KEY's export folder to its connected channel (resumable) and mark it completed.

    Title, description with the tracklist, tags, category (E3_YOUTUBE_CATEGORY, default 10 Music)
    and the thumbnail come from the export folder. The job becomes completed only when YouTube
    confirms the upload; its youtube_video_id is stored.
    """
    import datetime as dt

    from e3 import studio
    from e3.video.youtube_upload import upload_job

    engine = _engine()
    if publish_at is not None:
        job = studio.load_job(engine, key)
        studio.move(engine, key, job.status, upload_strategy="scheduled",
                    scheduled_time=publish_at.replace(tzinfo=dt.timezone.utc))
    video_id = upload_job(engine, key, log=lambda m: click.echo(m, err=True))
    click.echo(video_id)


@video_group.command("render")
@click.option("--images", "images_dir", required=True, type=click.Path(path_type=Path),
              help="Folder of pictures (png/jpg/jpeg/webp).")
@click.option("--audio", "audio_dir", required=True, type=click.Path(path_type=Path),
              help="Folder of tracks (mp3/m4a/aac/wav/flac/ogg/opus), as many as pictures.")
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path), help="The MP4 to write.")
@click.option("--fps", default=24, show_default=True, type=click.Choice(["24", "25", "30"]),
              help="Output frame rate.")
@click.option("--size", default="1920x1080", show_default=True, help="Output WIDTHxHEIGHT.")
@click.option("--loudness", default=-14.0, show_default=True, type=float,
              help="Target loudness in LUFS (YouTube: -14).")
def video_render(images_dir: Path, audio_dir: Path, out: Path, fps: str, size: str, loudness: float) -> None:
    """Render a folder of pictures against a folder of tracks into one MP4.

    Pictures and tracks are matched in natural sorted order (01, 02, ... 10); each picture shows
    for its track's length, with a short crossfade, and each track becomes a chapter named after
    its file. H.264 High + AAC 48 kHz stereo, +faststart. The MP4 appears only when complete.
    """
    import sys

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from e3.studio import parse_size
    from e3.video.render import render_folder

    if out.suffix.lower() != ".mp4":
        raise E3Error(f"{out}: the output must end in .mp4")
    width, height = parse_size(size)
    with Progress(TextColumn("{task.description:<24}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), transient=True, console=Console(stderr=True),
                  disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task("rendering", total=1.0)

        def on_progress(fraction: float, message: str) -> None:
            progress.update(task, completed=fraction, description=message[:24])

        result = render_folder(images_dir, audio_dir, out, fps=int(fps), width=width, height=height,
                               loudness_target=loudness, progress=on_progress)
    click.echo(f"{result.path}  {result.duration:.1f} s, {len(result.chapters)} chapters, "
               f"{result.size_bytes / 1e6:.1f} MB")


def register(group: click.Group) -> None:
    group.add_command(channel_group)
    group.add_command(video_group)
