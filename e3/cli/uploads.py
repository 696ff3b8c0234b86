"""Upload commands: `e3 user add|list`, `e3 upload` and `e3 audiobooks list|delete` (seed 002)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from e3.errors import E3Error


def _engine_and_foundry():
    from e3.cli.core import _engine, _foundry, _settings

    settings = _settings()
    return _engine(settings, migrate=True), _foundry(settings)


def _read_password(from_stdin: bool) -> str:
    """A hidden prompt with confirmation on a terminal; else one line from stdin. Never argv."""
    if from_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise E3Error("no password on stdin (give it on the first line)")
        return password
    return click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)


@click.group("user")
def user_group() -> None:
    """Users of the upload app (the `users` table): add, list."""


@user_group.command("add")
@click.argument("email")
@click.option("--superuser", is_flag=True, help="Make the user a superuser (is_superuser).")
@click.option("--inactive", is_flag=True, help="Create the user inactive (is_active false): uploads are refused.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of stdin (the default when stdin is not a terminal).")
def user_add(email: str, superuser: bool, inactive: bool, password_stdin: bool) -> None:
    """Add a user. The password is asked for (hidden, twice) or read from stdin, never from argv.

    It needs at least 8 characters and is stored as an Argon2 hash only. Emails are unique
    regardless of case and kept lower-case.
    """
    from sqlalchemy.orm import Session

    from e3.uploads import UploadError, add_user, find_user, normalize_email

    address = normalize_email(email)  # refuse a bad or taken address before asking for a password
    engine, _ = _engine_and_foundry()
    with Session(engine) as s:
        if find_user(s, address) is not None:
            raise UploadError(f"a user with email {address} already exists")
    password = _read_password(password_stdin)
    user = add_user(engine, email, password, superuser=superuser, active=not inactive)
    del password
    flags = [f for f, on in (("superuser", superuser), ("inactive", inactive)) if on]
    click.echo(f"added user {user.email}" + (f" ({', '.join(flags)})" if flags else ""))


@user_group.command("list")
def user_list() -> None:
    """List users: email, active, superuser, number of uploads."""
    from e3.uploads import list_audiobooks, list_users

    engine, _ = _engine_and_foundry()
    counts: dict[str, int] = {}
    for a in list_audiobooks(engine):
        counts[a.email or ""] = counts.get(a.email or "", 0) + 1
    for u in list_users(engine):
        click.echo(f"{u.email:<40} active={bool(u.is_active)!s:<5} superuser={bool(u.is_superuser)!s:<5} "
                   f"uploads={counts.get(u.email, 0)}")


@click.command("upload")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--user", "email", required=True, help="Email of the (active) user who uploads.")
@click.option("--wait", is_flag=True,
              help="Convert it now, in this process, through Dagster (no daemon needed), and print the m4b path.")
def upload_command(file: Path, email: str, wait: bool) -> None:
    """Upload a book (PDF, EPUB, HTML or TXT) for a user, to become an audiobook.

    The file is stored under <foundry>/_uploads/<audiobook id>/ with an `audiobooks` row (pending)
    and a queued `conversion_jobs` row. The `uploads_sensor` (dagster dev) then makes it the book
    up-<12 hex> and runs it; with --wait this command does that itself. Progress shows in
    `e3 audiobooks list`. Prints the audiobook id.
    """
    from e3.uploads import create_upload

    engine, foundry = _engine_and_foundry()
    audiobook = create_upload(engine, foundry, file, email)
    click.echo(str(audiobook.id))
    click.echo(f"uploaded {audiobook.original_file_name!r} as {audiobook.title!r} "
               f"(book {audiobook.book_id}, {audiobook.file_size} bytes)", err=True)
    if wait:
        _convert_now(engine, audiobook)


def _convert_now(engine, audiobook) -> None:
    from e3.cli.core import add_partition, materialize_partition
    from e3.uploads import UPLOAD_ASSETS, find_audiobook, start_upload
    from e3_assets.definitions import audiobook_job_asset_keys

    book_id = start_upload(engine, audiobook.id)
    if book_id is None:
        raise E3Error(f"upload {audiobook.id} was already picked up by the uploads sensor; "
                      "follow it with `e3 audiobooks list`")
    add_partition("books", book_id)
    available = set(audiobook_job_asset_keys())
    selection = ",".join(a for a in UPLOAD_ASSETS if a in available)
    failure = None
    try:
        materialize_partition(selection, book_id, log_level="CRITICAL")  # the reason comes from the catalog
    except E3Error as exc:
        failure = exc
    done = find_audiobook(engine, str(audiobook.id))
    if done.status != "completed":
        views = [v for v in _views(engine) if v.id == audiobook.id]
        reason = (views[0].error_message if views else None) or (str(failure) if failure else done.status)
        raise E3Error(f"upload {audiobook.id} failed: {reason}")
    click.echo(done.audio_path)


def _views(engine, email: str | None = None):
    from e3.uploads import list_audiobooks

    return list_audiobooks(engine, email)


@click.group("audiobooks")
def audiobooks_group() -> None:
    """Uploaded audiobooks (the `audiobooks` and `conversion_jobs` tables): list, delete."""


@audiobooks_group.command("list")
@click.option("--user", "email", help="Only this user's uploads (default: everyone's).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def audiobooks_list(email: str | None, as_json: bool) -> None:
    """List uploads, newest first: status, conversion progress (0-100), error and audio path."""
    from rich.console import Console
    from rich.table import Table

    engine, _ = _engine_and_foundry()
    views = _views(engine, email)
    if as_json:
        click.echo(json.dumps([v.as_dict() for v in views], indent=2))
        return
    table = Table(title="uploads" + (f" of {email.strip().lower()}" if email else ""))
    for column in ("id", "book", "title", "user", "status", "progress", "audio / error"):
        table.add_column(column, overflow="fold")
    for v in views:
        table.add_row(v.id.hex[:12], v.book_id, v.title[:40], v.email or "-", v.status or "-",
                      f"{v.progress}%" if v.progress is not None else "-",
                      v.audio_path or v.error_message or "-")
    Console(width=180).print(table)


@audiobooks_group.command("delete")
@click.argument("audiobook_id")
def audiobooks_delete(audiobook_id: str) -> None:
    """Delete an upload: its row and conversion jobs, its book (titles row, production row,
    foundry folder) and its stored file. AUDIOBOOK_ID may be a unique id prefix or up-<12 hex>."""
    from e3.cli.core import dagster_instance
    from e3.uploads import delete_audiobook, find_audiobook

    engine, foundry = _engine_and_foundry()
    audiobook = find_audiobook(engine, audiobook_id)
    if audiobook.status == "processing":
        raise E3Error(f"upload {audiobook.id} is being converted; delete it when it has finished")
    delete_audiobook(engine, foundry, str(audiobook.id))
    try:
        with dagster_instance() as instance:
            if instance.has_dynamic_partition("books", audiobook.book_id):
                instance.delete_dynamic_partition("books", audiobook.book_id)
    except Exception:  # noqa: BLE001 - the catalog and files are gone; a stale partition is harmless
        pass
    click.echo(f"deleted {audiobook.id} ({audiobook.book_id})")


def register(group: click.Group) -> None:
    for command in (user_group, upload_command, audiobooks_group):
        group.add_command(command)
