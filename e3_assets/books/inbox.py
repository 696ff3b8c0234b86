"""The inbox sensor: a book dropped into ``<foundry>/_inbox`` becomes a title, a partition and a run."""


import json
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from e3.catalog.models import Title
from e3.fsutil import sha256_file
from e3.intake import default_book_id
from e3_assets.partitions import books_partitions
from e3_resources.catalog import CatalogResource
from e3_resources.foundry import FoundryResource

BOOK_SUFFIXES = {".epub", ".pdf", ".txt", ".htm", ".html", ".xhtml"}


def scan_inbox(inbox: Path, cursor: dict) -> tuple[list[tuple[Path, str]], dict]:
    """Files whose content is new since the cursor, as (path, sha256); and the next cursor.

    The cursor remembers size and mtime per file, so unchanged files are not hashed again.
    """
    seen: dict = {}
    changed: list[tuple[Path, str]] = []
    if not inbox.is_dir():
        return changed, seen
    for path in sorted(inbox.iterdir()):
        if not path.is_file() or path.name.startswith(".") or path.suffix.lower() not in BOOK_SUFFIXES:
            continue
        stat = path.stat()
        key = str(path)
        previous = cursor.get(key)
        if previous and previous["size"] == stat.st_size and previous["mtime"] == stat.st_mtime_ns:
            seen[key] = previous
            continue
        digest = sha256_file(path)
        seen[key] = {"size": stat.st_size, "mtime": stat.st_mtime_ns, "sha256": digest}
        if not previous or previous.get("sha256") != digest:
            changed.append((path, digest))
    return changed, seen


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
    @dg.sensor(
        name="inbox_sensor",
        job=job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Adds each new or changed book file in <foundry>/_inbox and requests its run.",
    )
    def inbox_sensor(context: dg.SensorEvaluationContext, catalog: CatalogResource,
                     foundry: FoundryResource) -> dg.SensorResult:
        cursor = json.loads(context.cursor) if context.cursor else {}
        changed, next_cursor = scan_inbox(foundry.foundry().inbox, cursor)
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
