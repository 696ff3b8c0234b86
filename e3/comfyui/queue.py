"""The ``comfyui_jobs`` queue: priorities, leases, retries (table ``ComfyUIJob`` in the catalog).

Life of a job::

    pending --lease--> processing --complete--> done
                         |  fail / lease expired (reclaim_expired): retries_attempted += 1
                         +--> pending while retries_attempted < retry_limit, else failed
               release (worker stopped): back to pending, no attempt counted
    pending --cancel_pending (its batch was given up)--> failed; a rerun requeues it

Leasing is one atomic statement: ``UPDATE ... WHERE id = (SELECT id ... ORDER BY priority, id
LIMIT 1 [FOR UPDATE SKIP LOCKED]) AND status = 'pending' RETURNING ...``. On Postgres the SKIP
LOCKED sub-select lets many workers lease at once without waiting on each other; SQLite runs one
writer at a time, so the single statement is already race-free there.

Every change of a leased job is guarded by ``worker_id``, ``status = 'processing'`` and the
``run_count`` of the lease, so a worker that lost its lease (it expired and was reclaimed) cannot
complete or fail the job any more: it gets ``LeaseLost``.

Timestamps are timezone-aware UTC (SQLite stores them naive; they are read back as UTC).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from e3.catalog.models import COMFYUI_JOB_STATUSES, ComfyUIJob
from e3.errors import E3Error

T = ComfyUIJob.__table__


class QueueError(E3Error):
    """A queue operation is impossible (unknown job, bad arguments)."""


class LeaseLost(QueueError):
    """The worker no longer holds the job's lease (expired and reclaimed, or finished elsewhere)."""


class QueueTimeout(QueueError):
    """``wait_for`` gave up before every job was finished."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


@dataclass(frozen=True)
class Job:
    """A snapshot of one ``comfyui_jobs`` row (``metadata`` decoded from its JSON text)."""

    id: int
    config_name: str
    job_type: str
    workflow_id: str | None
    priority: int
    status: str
    run_count: int
    retries_attempted: int
    retry_limit: int
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    duration: float | None
    error_trace: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    worker_id: str | None = None
    lease_expires_at: dt.datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> Job:
        m = row._mapping
        try:
            meta = json.loads(m["metadata"]) if m["metadata"] else {}
        except ValueError:
            meta = {"_unparsed": m["metadata"]}
        return cls(id=m["id"], config_name=m["config_name"], job_type=m["job_type"], workflow_id=m["workflow_id"],
                   priority=m["priority"], status=m["status"], run_count=m["run_count"],
                   retries_attempted=m["retries_attempted"], retry_limit=m["retry_limit"],
                   start_time=_aware(m["start_time"]), end_time=_aware(m["end_time"]), duration=m["duration"],
                   error_trace=m["error_trace"], metadata=meta, worker_id=m["worker_id"],
                   lease_expires_at=_aware(m["lease_expires_at"]))

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


class JobQueue:
    """The ComfyUI job queue on a catalog engine (SQLite or Postgres). Thread-safe: no state
    beyond the engine, whose pool hands each call its own connection."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"

    # -- producers ------------------------------------------------------------------------------
    def enqueue(self, config_name: str, job_type: str, workflow_id: str | None, metadata: dict[str, Any],
                priority: int = 100, retry_limit: int = 3) -> int:
        """Add a job; returns its id. Idempotent: an existing ``config_name`` returns that row's id
        unchanged (use ``requeue`` to run a finished job again)."""
        if not config_name or not isinstance(config_name, str):
            raise QueueError("a job needs a non-empty config_name")
        if retry_limit < 1:
            raise QueueError(f"retry_limit must be at least 1, not {retry_limit}")
        meta = dict(metadata or {})
        meta.setdefault("_nonce", uuid.uuid4().hex)  # makes prompt ids unique per row (see worker)
        values = dict(config_name=config_name, job_type=job_type, workflow_id=workflow_id, priority=priority,
                      status="pending", run_count=0, retries_attempted=0, retry_limit=retry_limit,
                      metadata=json.dumps(meta, ensure_ascii=False))
        with self.engine.begin() as conn:
            if self.engine.dialect.name in ("postgresql", "sqlite"):
                if self.is_postgres:
                    from sqlalchemy.dialects.postgresql import insert
                else:
                    from sqlalchemy.dialects.sqlite import insert
                conn.execute(insert(T).values(**values).on_conflict_do_nothing(index_elements=["config_name"]))
            else:  # pragma: no cover - other databases
                try:
                    with conn.begin_nested():
                        conn.execute(sa.insert(T).values(**values))
                except sa.exc.IntegrityError:
                    pass
            job_id = conn.execute(sa.select(T.c.id).where(T.c.config_name == config_name)).scalar_one()
        return job_id

    def requeue(self, config_name: str) -> int:
        """Put a done/failed job back to pending with a fresh retry budget; returns its id."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(T).where(T.c.config_name == config_name)).first()
            if row is None:
                raise QueueError(f"no comfyui job named {config_name!r}")
            job = Job.from_row(row)
            meta = {**job.metadata, "_nonce": uuid.uuid4().hex}
            meta.pop("result", None)
            conn.execute(sa.update(T).where(T.c.id == job.id, T.c.status != "processing").values(
                status="pending", retries_attempted=0, error_trace=None, worker_id=None, lease_expires_at=None,
                end_time=None, duration=None, metadata=json.dumps(meta, ensure_ascii=False)))
        return job.id

    # -- workers ----------------------------------------------------------------------------------
    def lease(self, worker_id: str, lease_seconds: float = 300, job_types: Iterable[str] | None = None) -> Job | None:
        """Atomically take the first pending job (lowest priority, then oldest), or None."""
        now = utcnow()
        pick = sa.select(T.c.id).where(T.c.status == "pending")
        if job_types is not None:
            pick = pick.where(T.c.job_type.in_(list(job_types)))
        pick = pick.order_by(T.c.priority, T.c.id).limit(1)
        if self.is_postgres:
            pick = pick.with_for_update(skip_locked=True)
        stmt = (sa.update(T)
                .where(T.c.id == pick.scalar_subquery(), T.c.status == "pending")
                .values(status="processing", worker_id=worker_id, run_count=T.c.run_count + 1, start_time=now,
                        end_time=None, duration=None, lease_expires_at=now + dt.timedelta(seconds=lease_seconds))
                .returning(*T.c))
        with self.engine.begin() as conn:
            row = conn.execute(stmt).first()
        return Job.from_row(row) if row is not None else None

    def _guard(self, job_id: int, worker_id: str, run_count: int | None):
        cond = [T.c.id == job_id, T.c.worker_id == worker_id, T.c.status == "processing"]
        if run_count is not None:
            cond.append(T.c.run_count == run_count)
        return sa.and_(*cond)

    def renew(self, job_id: int, worker_id: str, lease_seconds: float = 300, run_count: int | None = None) -> bool:
        """Extend the lease; False when the worker no longer holds it."""
        with self.engine.begin() as conn:
            res = conn.execute(sa.update(T).where(self._guard(job_id, worker_id, run_count)).values(
                lease_expires_at=utcnow() + dt.timedelta(seconds=lease_seconds)))
        return res.rowcount == 1

    def _leased(self, conn: sa.Connection, job_id: int, worker_id: str, run_count: int | None) -> Job:
        row = conn.execute(sa.select(T).where(self._guard(job_id, worker_id, run_count))).first()
        if row is None:
            raise LeaseLost(f"comfyui job {job_id}: worker {worker_id} no longer holds its lease")
        return Job.from_row(row)

    def complete(self, job_id: int, worker_id: str, result_metadata: dict[str, Any] | None = None,
                 run_count: int | None = None) -> Job:
        """Mark done; the result goes into ``metadata["result"]``. Raises LeaseLost when the lease is gone."""
        now = utcnow()
        with self.engine.begin() as conn:
            job = self._leased(conn, job_id, worker_id, run_count)
            meta = {**job.metadata, "result": result_metadata or {}}
            duration = (now - job.start_time).total_seconds() if job.start_time else None
            # Guarded again: the row may have been reclaimed between the read and this write.
            row = conn.execute(sa.update(T).where(self._guard(job_id, worker_id, job.run_count)).values(
                status="done", end_time=now, duration=duration, lease_expires_at=None, error_trace=None,
                metadata=json.dumps(meta, ensure_ascii=False, default=str)).returning(*T.c)).first()
            if row is None:
                raise LeaseLost(f"comfyui job {job_id}: worker {worker_id} lost its lease while completing")
        return Job.from_row(row)

    def fail(self, job_id: int, worker_id: str, error_trace: str, run_count: int | None = None,
             *, permanent: bool = False) -> Job:
        """Count a failed attempt: back to pending while retries remain, else ``failed`` with the
        trace. A ``permanent`` error (one that another attempt cannot fix) fails the job at once."""
        now = utcnow()
        with self.engine.begin() as conn:
            job = self._leased(conn, job_id, worker_id, run_count)
            attempts = job.retries_attempted + 1
            final = permanent or attempts >= job.retry_limit
            duration = (now - job.start_time).total_seconds() if job.start_time else None
            row = conn.execute(sa.update(T).where(self._guard(job_id, worker_id, job.run_count)).values(
                status="failed" if final else "pending", retries_attempted=attempts, error_trace=error_trace,
                end_time=now, duration=duration, lease_expires_at=None,
                worker_id=worker_id if final else None).returning(*T.c)).first()
            if row is None:
                raise LeaseLost(f"comfyui job {job_id}: worker {worker_id} lost its lease while failing it")
        return Job.from_row(row)

    def release(self, job_id: int, worker_id: str, reason: str, run_count: int | None = None) -> bool:
        """Give a leased job back (its worker was stopped, not failed): pending again, no attempt
        counted, ``reason`` in its trace. False when the lease was already gone."""
        with self.engine.begin() as conn:
            res = conn.execute(sa.update(T).where(self._guard(job_id, worker_id, run_count)).values(
                status="pending", worker_id=None, lease_expires_at=None, end_time=utcnow(), error_trace=reason))
        return res.rowcount == 1

    def cancel_pending(self, config_names: Iterable[str], reason: str) -> int:
        """Fail the named jobs that are still pending, with ``reason`` (their batch was given up:
        no worker should spend time on them). A rerun requeues them with a fresh budget.
        Returns how many rows changed."""
        names = list(config_names)
        if not names:
            return 0
        with self.engine.begin() as conn:
            return conn.execute(sa.update(T).where(T.c.config_name.in_(names), T.c.status == "pending").values(
                status="failed", error_trace=reason, end_time=utcnow(), lease_expires_at=None)).rowcount

    def reclaim_expired(self, now: dt.datetime | None = None) -> int:
        """Processing jobs whose lease expired: counted as an attempt, back to pending, or failed
        once the retry limit is reached. Returns how many rows changed."""
        now = now or utcnow()
        attempts = T.c.retries_attempted + 1
        final = attempts >= T.c.retry_limit
        trace = (sa.literal("lease expired: worker ") + sa.func.coalesce(T.c.worker_id, "?")
                 + sa.literal(" stopped renewing it (crashed, or the job outlived its lease)"))
        stmt = (sa.update(T)
                .where(T.c.status == "processing",
                       sa.or_(T.c.lease_expires_at.is_(None), T.c.lease_expires_at < now))
                .values(retries_attempted=attempts,
                        status=sa.case((final, "failed"), else_="pending"),
                        error_trace=trace,
                        end_time=now,
                        worker_id=sa.case((final, T.c.worker_id), else_=None),
                        lease_expires_at=None))
        with self.engine.begin() as conn:
            return conn.execute(stmt).rowcount

    # -- observers -------------------------------------------------------------------------------------
    def get(self, job_id: int) -> Job:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(T).where(T.c.id == job_id)).first()
        if row is None:
            raise QueueError(f"no comfyui job with id {job_id}")
        return Job.from_row(row)

    def get_by_name(self, config_name: str) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(T).where(T.c.config_name == config_name)).first()
        return Job.from_row(row) if row is not None else None

    def jobs(self, config_names: Iterable[str] | None = None) -> list[Job]:
        stmt = sa.select(T).order_by(T.c.id)
        if config_names is not None:
            stmt = stmt.where(T.c.config_name.in_(list(config_names)))
        with self.engine.connect() as conn:
            return [Job.from_row(r) for r in conn.execute(stmt)]

    def counts(self, job_type: str | None = None) -> dict[str, int]:
        """``{status: n}`` for every status (zeros included)."""
        stmt = sa.select(T.c.status, sa.func.count()).group_by(T.c.status)
        if job_type is not None:
            stmt = stmt.where(T.c.job_type == job_type)
        out = dict.fromkeys(COMFYUI_JOB_STATUSES, 0)
        with self.engine.connect() as conn:
            for status, n in conn.execute(stmt):
                out[status] = n
        return out

    def wait_for(self, config_names: Iterable[str], timeout: float, poll: float = 0.5) -> dict[str, Job]:
        """Block until every named job is done or failed; returns them by name.

        Raises QueueError for an unknown name and QueueTimeout (with the counts) on timeout.
        Failed jobs are returned, not raised: the caller decides.
        """
        names = list(dict.fromkeys(config_names))
        deadline = time.monotonic() + timeout
        while True:
            jobs = {j.config_name: j for j in self.jobs(names)}
            missing = [n for n in names if n not in jobs]
            if missing:
                raise QueueError(f"no comfyui job named {missing[0]!r}" + (f" (+{len(missing) - 1} more)"
                                                                             if len(missing) > 1 else ""))
            if all(j.finished for j in jobs.values()):
                return jobs
            if time.monotonic() >= deadline:
                left = sum(not j.finished for j in jobs.values())
                raise QueueTimeout(f"{left} of {len(names)} comfyui jobs unfinished after {timeout:g}s "
                                   f"(is a worker running? `e3 worker comfyui --url URL`)")
            time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
