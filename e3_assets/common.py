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


def log_every(context, prefix: str, *, seconds: float = 5.0, unit: float = 1.0, unit_name: str = ""):
    """A ``progress(done, total)`` callback that logs at most every ``seconds`` (and at the end),
    so a long step shows it is alive without flooding the event log."""
    import time

    last = [float("-inf")]

    def progress(done: float, total: float) -> None:
        if time.monotonic() - last[0] >= seconds or done >= total:
            last[0] = time.monotonic()
            context.log.info(f"{prefix} {done / unit:.1f} of {total / unit:.1f} {unit_name}".rstrip())

    return progress


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
