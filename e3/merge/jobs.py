"""Merge jobs: the merger's ``jobs`` table (seed 003) and its ``JobService``, on E3's catalog.

A merge job is one row of ``jobs`` (``MergeJob``): ``input_folders`` as a JSON list, ``status``
queued -> running -> completed | failed, ``start_time``/``end_time`` (naive UTC, as the seed
declares), ``output_file`` and ``log`` (the error, or an info line when it worked).

The options a merge needs that the seed's table has no column for (title, author, chapter mode,
loudness) live in a small sidecar written when the job is created::

    <foundry>/_merges/<key>/options.json

where ``<key>`` is the job's Dagster partition, ``mj-`` and the first 12 hex digits of its id.

``E3_MERGE_ROOTS`` (``os.pathsep``-separated folders; default: the user's home folder, and for
network requests none) lists where input folders may live; a folder or file that resolves outside them
(``..``, a symlink) is refused. No Dagster here.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from e3.catalog.models import MERGE_JOB_STATUSES, MergeJob
from e3.errors import E3Error
from e3.fsutil import atomic_write_json

PARTITION_PREFIX = "mj-"
CHAPTER_MODES = ("per-file", "per-folder")
OPTIONS_FILE = "options.json"
RESULT_FILE = "result.json"
PROGRESS_FILE = "progress.json"


class JobNotFound(E3Error):
    """No merge job has that id (or the prefix is ambiguous)."""


def utcnow_naive() -> dt.datetime:
    """UTC without tzinfo: ``jobs`` timestamps are ``TIMESTAMP`` without time zone (seed 003)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def merge_roots(*, network: bool = False) -> list[Path]:
    """The folders merge inputs must resolve inside: ``E3_MERGE_ROOTS``, else the user's own home
    folder (never the current directory: ``cd / && e3 merge`` must not open the whole disk).
    ``network``: for requests that come over the network, only configured roots; none when
    ``E3_MERGE_ROOTS`` is unset."""
    from e3.config import settings

    raw = settings().merge_roots
    if raw:
        roots = [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]
    else:
        roots = [] if network else [Path.home()]
    return [r.resolve() for r in roots]


@dataclass(frozen=True)
class MergeOptions:
    """What a merge needs beyond the ``jobs`` columns (stored in ``options.json``)."""

    title: str | None = None
    author: str | None = None
    chapters: str = "per-file"
    loudness: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "author": self.author, "chapters": self.chapters, "loudness": self.loudness}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MergeOptions:
        return cls(title=data.get("title"), author=data.get("author"),
                   chapters=data.get("chapters") or "per-file", loudness=bool(data.get("loudness")))


@dataclass
class JobView:
    """A detached, plain view of one ``jobs`` row (what the CLI prints)."""

    id: uuid.UUID
    status: str
    input_folders: list[str]
    output_file: str | None
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    log: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    key: str = field(default="")

    @classmethod
    def of(cls, row: MergeJob) -> JobView:
        try:
            folders = json.loads(row.input_folders)
        except ValueError:
            folders = [row.input_folders]
        return cls(id=row.id, status=row.status, input_folders=folders, output_file=row.output_file,
                   start_time=row.start_time, end_time=row.end_time, log=row.log, created_at=row.created_at,
                   updated_at=row.updated_at, key=partition_key(row))

    def as_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("status", "input_folders", "output_file", "log", "key")}
        out["id"] = str(self.id)
        for k in ("start_time", "end_time", "created_at", "updated_at"):
            value = getattr(self, k)
            out[k] = value.isoformat() if value else None
        return out


def partition_key(job: MergeJob | JobView | uuid.UUID) -> str:
    """``mj-`` and the first 12 hex digits of the job id (the ``merges`` partition key)."""
    job_id = job if isinstance(job, uuid.UUID) else job.id
    return f"{PARTITION_PREFIX}{job_id.hex[:12]}"


_HEX = re.compile(r"^[0-9a-f]{1,32}$")


def _hex_prefix(text: str) -> str:
    """A job reference (full id, dashed or not, an id prefix, or a partition key) as hex digits."""
    ref = text.strip().lower()
    if ref.startswith(PARTITION_PREFIX):
        ref = ref[len(PARTITION_PREFIX):]
    ref = ref.replace("-", "")
    if not _HEX.fullmatch(ref):
        raise JobNotFound(f"{text!r} is not a merge job id (hex digits, or a key like mj-0123456789ab)")
    return ref


class JobService:
    """The seed's ``JobService`` over E3's catalog engine (SQLite or Postgres)."""

    def __init__(self, engine: sa.Engine, foundry=None):
        self.engine = engine
        self.foundry = foundry  # e3.foundry.Foundry, for the options sidecar

    # --- create / read ---------------------------------------------------------------------
    def create_job(self, input_folders: list[str | Path], output_file: str | Path | None = None, *,
                   title: str | None = None, author: str | None = None, chapters: str = "per-file",
                   loudness: bool = False) -> MergeJob:
        """Insert a queued job; the options go to ``_merges/<key>/options.json`` (written first,
        so a row never exists without its options)."""
        if chapters not in CHAPTER_MODES:
            raise E3Error(f"chapters must be one of {', '.join(CHAPTER_MODES)}, not {chapters!r}")
        if not input_folders:
            raise E3Error("a merge job needs at least one input folder")
        job_id = uuid.uuid4()
        key = partition_key(job_id)
        if output_file is None:
            if self.foundry is None:
                raise E3Error("no output file given")
            output_file = self.foundry.merge_job(key) / f"{key}.m4b"
        output = Path(output_file).expanduser().resolve()
        if output.suffix.lower() != ".m4b":
            raise E3Error(f"{output_file}: the output must be an .m4b file")
        if self.foundry is not None:
            atomic_write_json(self.foundry.merge_job(key) / OPTIONS_FILE,
                              MergeOptions(title, author, chapters, loudness).to_dict())
        now = utcnow_naive()
        row = MergeJob(id=job_id, status="queued", input_folders=json.dumps([str(f) for f in input_folders]),
                       output_file=str(output), created_at=now, updated_at=now)
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            s.add(row)
        return row

    def get_job(self, job_id: uuid.UUID | str) -> MergeJob | None:
        """The job with this id; a string may be a unique prefix or a partition key."""
        with Session(self.engine, expire_on_commit=False) as s:
            if isinstance(job_id, uuid.UUID):
                return s.get(MergeJob, job_id)
            prefix = _hex_prefix(job_id)
            if len(prefix) == 32:
                return s.get(MergeJob, uuid.UUID(prefix))
            found = list(s.scalars(sa.select(MergeJob).where(_id_hex(MergeJob.id).like(f"{prefix}%")).limit(2)))
        if len(found) > 1:
            raise JobNotFound(f"job id prefix {job_id!r} is ambiguous; give more digits")
        return found[0] if found else None

    def require_job(self, job_id: uuid.UUID | str) -> MergeJob:
        job = self.get_job(job_id)
        if job is None:
            raise JobNotFound(f"no merge job {str(job_id)!r} (see `e3 jobs list`)")
        return job

    def get_jobs(self, status: str | None = None, limit: int = 50, offset: int = 0) -> list[MergeJob]:
        """Newest first, optionally of one status, paged with limit/offset."""
        if status is not None and status not in MERGE_JOB_STATUSES:
            raise E3Error(f"status must be one of {', '.join(MERGE_JOB_STATUSES)}, not {status!r}")
        query = sa.select(MergeJob).order_by(MergeJob.created_at.desc(), MergeJob.id)
        if status is not None:
            query = query.where(MergeJob.status == status)
        with Session(self.engine, expire_on_commit=False) as s:
            return list(s.scalars(query.limit(max(0, limit)).offset(max(0, offset))))

    def job_for_partition(self, key: str) -> MergeJob:
        if not key.startswith(PARTITION_PREFIX):
            raise JobNotFound(f"{key!r} is not a merge partition key (mj-<12 hex digits>)")
        return self.require_job(key)

    partition_key = staticmethod(partition_key)

    # --- update / delete -------------------------------------------------------------------
    def update_job(self, job_id: uuid.UUID | str, **fields: Any) -> MergeJob | None:
        """Set columns (status, start_time, end_time, output_file, log); None if the job is gone."""
        if "status" in fields and fields["status"] not in MERGE_JOB_STATUSES:
            raise E3Error(f"unknown merge job status {fields['status']!r}")
        if "input_folders" in fields and not isinstance(fields["input_folders"], str):
            fields["input_folders"] = json.dumps([str(f) for f in fields["input_folders"]])
        job = self.get_job(job_id)
        if job is None:
            return None
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            row = s.get(MergeJob, job.id)
            if row is None:
                return None
            for name, value in fields.items():
                if not hasattr(MergeJob, name) or name in ("id", "created_at"):
                    raise E3Error(f"jobs has no updatable column {name!r}")
                setattr(row, name, value)
            row.updated_at = utcnow_naive()
        return row

    def start(self, job_id) -> MergeJob | None:
        return self.update_job(job_id, status="running", start_time=utcnow_naive(), end_time=None, log=None)

    def finish(self, job_id, *, output_file: str, log: str) -> MergeJob | None:
        return self.update_job(job_id, status="completed", end_time=utcnow_naive(), output_file=output_file,
                               log=log)

    def fail(self, job_id, reason: str) -> MergeJob | None:
        return self.update_job(job_id, status="failed", end_time=utcnow_naive(), log=reason)

    def delete_job(self, job_id: uuid.UUID | str) -> bool:
        """Delete the row and its ``_merges/<key>`` folder (never the output m4b); False if absent."""
        job = self.get_job(job_id)
        if job is None:
            return False
        with Session(self.engine) as s, s.begin():
            s.execute(sa.delete(MergeJob).where(MergeJob.id == job.id))
        self._remove_folder(job)
        return True

    def clear_old_jobs(self, days_old: int = 30) -> int:
        """Delete completed and failed jobs that ended more than ``days_old`` days ago."""
        cutoff = utcnow_naive() - dt.timedelta(days=days_old)
        finished_before = sa.and_(MergeJob.status.in_(("completed", "failed")),
                                  sa.func.coalesce(MergeJob.end_time, MergeJob.updated_at) < cutoff)
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            old = list(s.scalars(sa.select(MergeJob).where(finished_before)))
            if old:
                s.execute(sa.delete(MergeJob).where(MergeJob.id.in_([j.id for j in old])))
        for job in old:
            self._remove_folder(job)
        return len(old)

    def _remove_folder(self, job: MergeJob) -> None:
        if self.foundry is None:
            return
        import shutil

        folder = self.foundry.merge_job(partition_key(job))
        # The output may have been written into the job folder (no -o given): keep it.
        output = Path(job.output_file) if job.output_file else None
        if output is not None and output.parent == folder and output.exists():
            for p in folder.iterdir():
                if p != output:
                    shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
            return
        shutil.rmtree(folder, ignore_errors=True)

    # --- sidecars ----------------------------------------------------------------------------
    def options(self, job: MergeJob | JobView) -> MergeOptions:
        """The job's options sidecar; defaults when it is missing (a row made by another tool)."""
        if self.foundry is None:
            return MergeOptions()
        path = self.foundry.merge_job(partition_key(job)) / OPTIONS_FILE
        if not path.is_file():
            return MergeOptions()
        try:
            return MergeOptions.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except ValueError as exc:
            raise E3Error(f"{path}: unreadable merge options ({exc})") from None

    def to_view(self, job: MergeJob) -> JobView:
        return JobView.of(job)


def _id_hex(column):
    """The id as 32 lower-case hex digits on every dialect (Postgres prints dashes, SQLite stores none)."""
    return sa.func.lower(sa.func.replace(sa.cast(column, sa.String), "-", ""))


# --- running a job (used by the merged_m4b asset; no Dagster here) -----------------------------

from e3.narration.audiobook import LOUDNESS_TARGET  # noqa: E402 - merges normalize to the audiobook target


def validate_folders(folders: list[str | Path], roots: list[Path] | None) -> list[Path]:
    """Refuse a missing, non-folder, escaping (``..``, symlink out of ``roots``) or audio-less folder.

    Cheap (no decoding): ``e3 merge`` calls it before it creates a row. Returns resolved paths.
    """
    from e3.merge.plan import AUDIO_EXTENSIONS, MergeError, _check_folder

    if not folders:
        raise MergeError("no input folders given")
    resolved = []
    for folder in folders:
        real = _check_folder(Path(folder), roots)
        if not any(p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith(".") and p.is_file()
                   for p in real.iterdir()):
            raise MergeError(f"{folder}: no audio files ({', '.join(sorted(e[1:] for e in AUDIO_EXTENSIONS))})")
        resolved.append(real)
    return resolved


def inputs_fingerprint(folders: list[Path], options: MergeOptions, output: Path) -> str:
    """A hash of every file's name, size and mtime in the folders, the options and the output path.

    Equal fingerprints and an existing output mean the merge is already done (a rerun skips it).
    """
    from e3.fsutil import sha256_text

    parts = [json.dumps(options.to_dict(), sort_keys=True), str(output)]
    for folder in folders:
        parts.append(str(folder))
        for p in sorted(Path(folder).iterdir()):
            if p.is_file() and not p.name.startswith("."):
                st = p.stat()
                parts.append(f"{p.name}\t{st.st_size}\t{st.st_mtime_ns}")
    return sha256_text(*parts)


@dataclass
class JobOutcome:
    """What a finished merge produced (also the content of ``_merges/<key>/result.json``)."""

    path: str
    duration: float
    chapters: int
    files: int
    reencoded: bool
    size_bytes: int
    fingerprint: str
    chapter_titles: list[str] = field(default_factory=list)
    loudness_lufs: float | None = None
    reused: bool = False

    def info_line(self) -> str:
        how = "re-encoded" if self.reencoded else "stream-copied (no re-encode)"
        return (f"merged {self.files} file(s) into {self.chapters} chapter(s), {self.duration:.2f} s, "
                f"{self.size_bytes} bytes, {how}: {self.path}")


def execute_job(service: JobService, job_ref, *, roots: list[Path] | None = None,
                progress=None, workers: int | None = None, log=None) -> JobOutcome:
    """Run one merge job: queued/failed -> running -> completed, or failed with the reason in ``log``.

    A rerun whose inputs, options and output are unchanged reuses the finished m4b. Raises
    :class:`e3.merge.plan.MergeError` (an E3Error) for bad input, after marking the job failed.
    """
    from e3.merge.plan import MergeError, collect_inputs
    from e3.merge.run import run_merge

    job = service.require_job(job_ref)
    key = partition_key(job)
    folder = service.foundry.merge_job(key) if service.foundry is not None else None
    roots = merge_roots() if roots is None else roots
    service.start(job.id)
    try:
        options = service.options(job)
        if not job.output_file:
            raise MergeError("the job has no output_file")
        output = Path(job.output_file)
        dirs = validate_folders(JobView.of(job).input_folders, roots)
        fingerprint = inputs_fingerprint(dirs, options, output)
        previous = _read_result(folder)
        if previous and previous.fingerprint == fingerprint and output.is_file() \
                and output.stat().st_size == previous.size_bytes:
            previous.reused = True
            if log:
                log(f"{key}: {output.name} is up to date, not merged again")
            outcome = previous
        else:
            plan = collect_inputs(dirs, chapters=options.chapters, allowed_roots=roots, title=options.title,
                                  author=options.author, workers=workers)
            if log:
                log(f"{key}: {len(plan.files)} files, {len(plan.chapters)} chapters -> {output}")
            result = run_merge(plan, output, loudness_target=LOUDNESS_TARGET if options.loudness else None,
                               workers=workers, progress=progress)
            outcome = JobOutcome(
                path=str(result.path), duration=result.duration, chapters=len(result.chapters),
                files=len(plan.files), reencoded=result.reencoded, size_bytes=result.size_bytes,
                fingerprint=fingerprint, chapter_titles=[c.title for c in result.chapters],
                loudness_lufs=result.loudness.integrated_lufs if result.loudness else None,
            )
            if folder is not None:
                atomic_write_json(folder / RESULT_FILE, {k: v for k, v in outcome.__dict__.items() if k != "reused"})
    except E3Error as exc:
        service.fail(job.id, str(exc))
        raise
    except Exception as exc:
        service.fail(job.id, f"{exc.__class__.__name__}: {exc}")
        raise
    service.finish(job.id, output_file=outcome.path, log=outcome.info_line())
    return outcome


def _read_result(folder: Path | None) -> JobOutcome | None:
    if folder is None or not (folder / RESULT_FILE).is_file():
        return None
    try:
        data = json.loads((folder / RESULT_FILE).read_text(encoding="utf-8"))
        return JobOutcome(**data)
    except (ValueError, TypeError):
        return None


def write_progress(folder: Path, done: float, total: float) -> None:
    """Seconds of audio merged so far (``progress.json``), for `e3 merge`'s progress bar."""
    atomic_write_json(folder / PROGRESS_FILE, {"done": round(done, 2), "total": round(total, 2)})


def read_progress(folder: Path) -> tuple[float, float] | None:
    try:
        data = json.loads((folder / PROGRESS_FILE).read_text(encoding="utf-8"))
        return float(data["done"]), float(data["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
