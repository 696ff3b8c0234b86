"""Helpers shared by the asset bodies: catalog steps and failures users can read."""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from e3.errors import E3Error
from e3.interrupts import interrupts_held
from e3_resources.catalog import CatalogResource

# Transient faults (a busy database, a flaky server) get a couple of retries; E3Errors (bad input)
# are raised as Failure(allow_retries=False) and never retried.
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL)


def _domain_asset(partitions_def, *, group_name: str, **kwargs):
    """``dg.asset`` with what every E3 asset shares: its partitions, the transient retry policy,
    and its domain as group, owner and tag (the UI filters by each)."""
    kwargs.setdefault("retry_policy", TRANSIENT_RETRY)
    return dg.asset(partitions_def=partitions_def, group_name=group_name, owners=[f"team:e3-{group_name}"],
                    tags={"e3/domain": group_name}, **kwargs)


def checked_book(context) -> str:
    """The book a check runs on: the run's partition. Dagster 1.13's Checks tab "Execute all"
    launches checks without one, and Dagster itself then fails recording any result for a
    partitioned asset; stop first with a line that says what works."""
    if not context.op_execution_context.has_partition_key:
        raise dg.Failure("checks run per book: materialize the book's partition of "
                         f"{context.check_specs[0].asset_key.to_user_string()} (its checks run after it; an "
                         "unchanged m4b is reused), or run `e3 check BOOK_ID` / `e3 produce BOOK_ID`",
                         allow_retries=False)
    return context.partition_key


def running_sensor(name: str, job, description: str):
    """A sensor that is on from the start (every E3 sensor is) and ticks every 30 s."""
    return dg.sensor(name=name, job=job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
                     description=description)


def book_asset(**kwargs):
    """An asset partitioned by book."""
    from e3_assets.partitions import books_partitions

    return _domain_asset(books_partitions, **kwargs)


def video_job_asset(**kwargs):
    """An asset partitioned by the studio's video job."""
    from e3_assets.partitions import video_jobs_partitions

    return _domain_asset(video_jobs_partitions, **kwargs)


def merge_asset(**kwargs):
    """An asset partitioned by merge job."""
    from e3_assets.partitions import merges_partitions

    return _domain_asset(merges_partitions, **kwargs)


@contextlib.contextmanager
def catalog_step(catalog: CatalogResource, book_id: str, step: str, *, announce: bool = True) -> Iterator[None]:
    """Mark ``step`` processing; on error mark it failed with the reason and re-raise.

    The caller marks ``completed`` itself, together with the counts it produced. ``announce``
    False: the asset does no work of that step (``e3.catalog.status.ASSET_STEPS``), so only a
    failure is recorded there.
    """
    if announce:
        catalog.mark(book_id, step, "processing")
    try:
        yield
    except E3Error as exc:
        catalog.mark(book_id, step, "failed", error=str(exc))
        raise dg.Failure(description=f"{book_id}: {exc}", allow_retries=False) from exc
    except dg.Failure as exc:
        catalog.mark(book_id, step, "failed", error=exc.description or "failed")
        raise
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            catalog.mark(book_id, step, "failed", error=f"{exc.__class__.__name__}: {exc}")
            raise
        # A full disk is not transient: no retries, and a line that says which disk.
        message = disk_full_message(exc)
        catalog.mark(book_id, step, "failed", error=message)
        raise dg.Failure(description=f"{book_id}: {message}", allow_retries=False) from exc
    except Exception as exc:
        catalog.mark(book_id, step, "failed", error=f"{exc.__class__.__name__}: {exc}")
        raise
    except BaseException as exc:  # Ctrl-C, SIGTERM, Dagster's interrupt: never left "processing"
        dagster_interrupt = isinstance(exc, dg.DagsterExecutionInterruptedError)
        with interrupts_held():
            catalog.mark(book_id, step, "failed",
                         error="interrupted (Ctrl-C or SIGTERM)" if dagster_interrupt
                         else f"interrupted ({exc.__class__.__name__})")
        if dagster_interrupt:  # Dagster's form of Ctrl-C and SIGTERM inside a step
            _stop_run_on_interrupt(book_id)
        raise


def disk_full_message(exc: OSError) -> str:
    """``No space left on device`` naming the full disk: of the error's file names and the
    foundry (a write() that fails has no file name; a copy may name its source), the one with
    the least free space, and what is free there."""
    import shutil

    from e3.config import load_settings

    def free_of(name) -> int | None:
        path = Path(name)
        while not path.exists() and path != path.parent:
            path = path.parent
        try:
            return shutil.disk_usage(path).free
        except OSError:
            return None

    names = [n for n in (exc.filename2, exc.filename) if n] + [str(load_settings().foundry)]
    known = [(free_of(n), i, n) for i, n in enumerate(names)]
    known = [k for k in known if k[0] is not None] or [(None, 0, names[0])]
    free, _i, where = min(known, key=lambda k: (k[0] if k[0] is not None else 0, k[1]))
    shown = f", {free >> 20} MB free" if free is not None else ""
    return f"no space left on device under {where}{shown} (OSError: [Errno {exc.errno}])"


def _stop_run_on_interrupt(book_id: str):
    """Dagster turns an interrupt inside a step with a retry policy into a RETRY (so the first
    Ctrl-C or SIGTERM only restarted the step). Fail the step without retries instead, and leave
    the interrupt pending, so the next step of the run stops it at its start (Dagster raises a
    pending interrupt when it enters a step)."""
    import threading

    from dagster._utils import interrupts

    if threading.current_thread() is threading.main_thread():
        interrupts._received_interrupt["received"] = True
    raise dg.Failure(description=f"{book_id}: interrupted (Ctrl-C or SIGTERM); a rerun resumes",
                     allow_retries=False)


def every(seconds: float, report):
    """``report(done, total)`` at most every ``seconds`` (and always at the end): one throttle
    for catalog counts, progress files and log lines."""
    import time

    last = [float("-inf")]

    def progress(done: float, total: float, *rest) -> None:
        if time.monotonic() - last[0] >= seconds or done >= total:
            last[0] = time.monotonic()
            report(done, total, *rest)

    return progress


def both(*reports):
    """One ``progress(done, total)`` that feeds several."""
    def progress(done: float, total: float, *rest) -> None:
        for report in reports:
            report(done, total, *rest)

    return progress


def log_every(context, prefix: str, *, seconds: float = 5.0, unit: float = 1.0, unit_name: str = ""):
    """A ``progress(done, total)`` callback that logs at most every ``seconds`` (and at the end),
    so a long step shows it is alive without flooding the event log."""
    return every(seconds, lambda done, total, *_: context.log.info(
        f"{prefix} {done / unit:.1f} of {total / unit:.1f} {unit_name}".rstrip()))


def pictures_metadata(folder: Path, results: list, *, size: str, seconds: float, preview: int = 4,
                      width: int = 160) -> dict:
    """Run metadata of a pictures step: where, who painted, how many made now or reused, and
    inline thumbnails (the UI shows ``data:`` images, not ``file://`` links)."""
    from e3.media.thumbs import thumbnails_markdown

    made = sum(1 for r in results if not r.reused)
    return {
        "path": dg.MetadataValue.path(str(folder)),
        "provider": ", ".join(sorted({r.provider for r in results})) or "none",
        "images": len(results), "made_now": made, "reused": len(results) - made,
        "size": size, "wall_seconds": seconds,
        "preview": dg.MetadataValue.md(thumbnails_markdown([r.path for r in results[:preview]], width=width)
                                       or "_no pictures_"),
    }


def human_duration(seconds: float) -> str:
    """``5585.3`` -> ``"1:33:05"``, ``93.2`` -> ``"1:33"``: beside raw seconds in metadata."""
    total = int(round(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def human_size(n: int) -> str:
    """``855934`` -> ``"836 KB"`` (binary units, as file managers show them)."""
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit in ("bytes", "KB") else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover


def md_table(rows: list[tuple[str, str]], headers: tuple[str, str] = ("chapter", "words")) -> str:
    lines = [f"| {headers[0]} | {headers[1]} |", "|---|---|"]
    lines += [f"| {a.replace('|', '/')} | {b} |" for a, b in rows]
    return "\n".join(lines)
