"""The inbox sensor: a book dropped into ``<foundry>/_inbox`` becomes a title, a partition and a run."""


import json
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from e3.catalog.models import Title
from e3.fsutil import sha256_file
from e3.intake import default_book_id
from e3_assets.common import running_sensor
from e3_assets.partitions import books_partitions
from e3_resources.catalog import CatalogResource
from e3_resources.foundry import FoundryResource

BOOK_SUFFIXES = {".epub", ".pdf", ".txt", ".htm", ".html", ".xhtml"}


def scan_inbox(inbox: Path, cursor: dict, check=None) -> tuple[list[tuple[Path, str]], dict, list[str]]:
    """Files ready to become books, as (path, sha256); the next cursor; and refusals to report.

    A file is taken only once its size and mtime are the same on two ticks in a row, so a book
    still being copied is never read half-written. ``check(path)`` (``e3 add``'s validation)
    may raise an ``E3Error``: that file is refused with its own name and the reason, and is not
    looked at again until it changes. The cursor remembers size, mtime and state per file, so
    unchanged files are not hashed again.
    """
    from e3.errors import E3Error

    seen: dict = {}
    ready: list[tuple[Path, str]] = []
    refused: list[str] = []
    if not inbox.is_dir():
        return ready, seen, refused
    for path in sorted(inbox.iterdir()):
        if not path.is_file() or path.name.startswith(".") or path.suffix.lower() not in BOOK_SUFFIXES:
            continue
        stat = path.stat()
        key = str(path)
        shape = {"size": stat.st_size, "mtime": stat.st_mtime_ns}
        previous = cursor.get(key) or {}
        same = previous.get("size") == shape["size"] and previous.get("mtime") == shape["mtime"]
        if same and previous.get("state", "done") in ("done", "refused"):
            seen[key] = previous
            continue
        done_before = previous.get("done_sha256")  # the content last turned into a run
        if not same or stat.st_size == 0:
            seen[key] = {**shape, "state": "settling", "done_sha256": done_before}
            continue  # changed since the last tick (or empty so far): look again next tick
        digest = sha256_file(path)
        try:
            if check is not None:
                check(path)
        except E3Error as exc:
            refused.append(f"inbox: {path.name} refused: {exc}")
            seen[key] = {**shape, "state": "refused", "sha256": digest, "done_sha256": done_before,
                         "reason": str(exc)[:300]}
            continue
        seen[key] = {**shape, "state": "done", "sha256": digest, "done_sha256": digest}
        if done_before != digest:  # touched but not changed: no new run
            ready.append((path, digest))
    return ready, seen, refused


def check_book(path: Path) -> None:
    """What ``e3 add`` refuses, the inbox refuses too: a file that does not parse as a book."""
    from e3.books.parse import parse_book

    parse_book(path)


def _book_for(catalog: CatalogResource, path: Path) -> str:
    """The book an inbox file belongs to; a new file is registered under a free id from its name."""
    from e3.catalog.service import register_title

    with catalog.session() as s:
        book_id = s.scalar(sa.select(Title.book_id).where(Title.source_url == str(path)))
        if book_id is not None:
            return book_id
        base = default_book_id(str(path), path)
        taken = set(s.scalars(sa.select(Title.book_id).where(Title.book_id.like(f"{base}%"))))
    book_id, n = base, 2
    while book_id in taken:
        book_id, n = f"{base}-{n}", n + 1
    register_title(catalog.engine, book_id, title=path.stem, source_url=str(path))
    return book_id


def build_inbox_sensor(job) -> dg.SensorDefinition:
    @running_sensor("inbox_sensor", job, "Adds each new or changed book file in <foundry>/_inbox and requests its "
                    "run, once the file has stopped changing; files that are not readable books are refused.")
    def inbox_sensor(context: dg.SensorEvaluationContext, catalog: CatalogResource,
                     foundry: FoundryResource) -> dg.SensorResult:
        cursor = json.loads(context.cursor) if context.cursor else {}
        changed, next_cursor, refused = scan_inbox(foundry.foundry().inbox, cursor, check=check_book)
        for line in refused:
            context.log.warning(line)
        run_requests, new_partitions = [], []
        existing = set(context.instance.get_dynamic_partitions(books_partitions.name))
        for path, digest in changed:
            book_id = _book_for(catalog, path)
            if book_id not in existing:
                new_partitions.append(book_id)
                existing.add(book_id)
            # The content hash in the run key: the same file runs once, a changed file runs again.
            run_requests.append(dg.RunRequest(partition_key=book_id, run_key=f"{book_id}:{digest[:16]}",
                                              tags={"e3/source": path.name}))
            context.log.info(f"inbox: {path.name} -> {book_id}")
        return dg.SensorResult(
            run_requests=run_requests,
            dynamic_partitions_requests=[books_partitions.build_add_request(new_partitions)] if new_partitions else [],
            cursor=json.dumps(next_cursor),
        )

    return inbox_sensor
