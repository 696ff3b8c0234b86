"""Helpers shared by the asset bodies: catalog steps and failures users can read."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg

from e3.errors import E3Error
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
    except Exception as exc:
        catalog.mark(book_id, step, "failed", error=f"{exc.__class__.__name__}: {exc}")
        raise
    except BaseException as exc:  # Ctrl-C, SIGTERM, Dagster's interrupt: never left "processing"
        catalog.mark(book_id, step, "failed", error=f"interrupted ({exc.__class__.__name__})")
        raise


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
