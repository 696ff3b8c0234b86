"""Move a book's workflow columns in ``audiobook_production`` as its assets materialize.

A *step* is one of the seed's status column groups (``parse_novel``, ``audio_generation`` ...).
``mark(engine, book_id, step, "processing")`` sets ``<step>_status`` and a ``<step>_started_at``
where the seed has one; ``completed`` sets ``<step>_completed_at``; ``failed`` stores the reason in
the row's JSON ``metadata`` under ``errors.<step>`` (the seed has no error column) and fails the
row's overall ``status``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from e3.catalog.models import STEP_STATUSES, AudiobookProduction, Narrator, Title

STEPS = (
    "parse_novel",
    "metadata",
    "audio_generation",
    "audio_files_moved",
    "audio_combination_planned",
    "audio_combination",
    "image_prompts",
    "image_jobs_generation",
    "image_generation",
    "subtitle_generation",
    "video_generation",
)

# The one map from each book asset to the seed's step columns it moves, in the order it moves
# them (the CLI's progress, the README's asset table and a test all read it). An asset with no
# step of its own moves none: book_source only copies the input (its failure is recorded on
# parse_novel), narration_chunks only plans (it records total_chunks; voicing is audio_chunks').
# audiobook_m4b moves three seed steps: audio_files_moved (every chunk file is present),
# audio_combination_planned (segments, pauses, chapters and tags are planned), audio_combination
# (the AAC encode and mux).
ASSET_STEPS: dict[str, tuple[str, ...]] = {
    "book_source": (),
    "parsed_chapters": ("metadata", "parse_novel"),
    "narration_chunks": (),
    "audio_chunks": ("audio_generation",),
    "audiobook_m4b": ("audio_files_moved", "audio_combination_planned", "audio_combination"),
    "subtitles": ("subtitle_generation",),
    "image_prompts": ("image_prompts",),
    "illustrations": ("image_jobs_generation", "image_generation"),
    "book_video": ("video_generation",),
}
# Where an asset with no step of its own records a failure.
FAILURE_STEP = {"book_source": "parse_novel", "narration_chunks": "audio_generation"}

DEFAULT_NARRATOR_ID = "narrator_piper_joe"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def production_row(session: Session, book_id: str, *, create: bool = True) -> AudiobookProduction | None:
    """The book's newest production row; created (with the title's narrator) when missing."""
    row = session.scalar(
        sa.select(AudiobookProduction)
        .where(AudiobookProduction.book_id == book_id)
        .order_by(AudiobookProduction.id.desc())
        .limit(1)
    )
    if row is None and create:
        title = session.scalar(sa.select(Title).where(Title.book_id == book_id))
        if title is None:
            raise LookupError(f"book {book_id!r} is not in the catalog (run `e3 add` first)")
        narrator_id = title.audiobook_narrator_id
        if narrator_id is None and session.get(Narrator, DEFAULT_NARRATOR_ID) is not None:
            narrator_id = DEFAULT_NARRATOR_ID
        row = AudiobookProduction(book_id=book_id, narrator_id=narrator_id)
        session.add(row)
        session.flush()
    return row


def read_metadata(row: AudiobookProduction) -> dict[str, Any]:
    try:
        return json.loads(row.metadata_json) if row.metadata_json else {}
    except ValueError:
        return {}


def write_metadata(row: AudiobookProduction, data: dict[str, Any]) -> None:
    row.metadata_json = json.dumps(data, sort_keys=True, default=str)


def mark(engine: sa.Engine, book_id: str, step: str, status: str, *, error: str | None = None,
         **values: Any) -> None:
    """Set ``step``'s status (and timestamps) plus any other columns given as keywords."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}")
    if status not in STEP_STATUSES:
        raise ValueError(f"unknown status {status!r}")
    now = utcnow()
    with Session(engine) as session, session.begin():
        row = production_row(session, book_id)
        setattr(row, f"{step}_status", status)
        if status == "processing" and hasattr(row, f"{step}_started_at"):
            setattr(row, f"{step}_started_at", now)
        if status == "completed" and hasattr(row, f"{step}_completed_at"):
            setattr(row, f"{step}_completed_at", now)
        meta = read_metadata(row)
        errors = meta.setdefault("errors", {})
        if status == "failed":
            errors[step] = error or "failed"
            meta["last_error"] = {"step": step, "message": error or "failed", "at": now.isoformat()}
            row.status = "failed"
            if step == "audio_combination":  # no finished audiobook stands behind a failed build
                session.execute(sa.update(Title).where(Title.book_id == book_id).values(audiobook_complete=False))
            _finish_upload(session, book_id, error=f"{step}: {error or 'failed'}")
        else:
            errors.pop(step, None)
            if not errors:
                meta.pop("last_error", None)
            if status == "processing" or row.status == "failed" and not errors:
                row.status = "processing"
        write_metadata(row, meta)
        for column, value in values.items():
            if not hasattr(AudiobookProduction, column):
                raise ValueError(f"audiobook_production has no column {column!r}")
            setattr(row, column, value)
        if status == "completed" and all(getattr(row, f"{s}_status") == "completed" for s in STEPS):
            row.status = "completed"  # the book's last step is done
        row.updated_at = now


def set_values(engine: sa.Engine, book_id: str, **values: Any) -> None:
    """Set plain columns (counts) on the book's production row."""
    with Session(engine) as session, session.begin():
        row = production_row(session, book_id)
        for column, value in values.items():
            setattr(row, column, value)
        row.updated_at = utcnow()


def merge_metadata(engine: sa.Engine, book_id: str, **entries: Any) -> None:
    """Merge keys into the production row's JSON metadata."""
    with Session(engine) as session, session.begin():
        row = production_row(session, book_id)
        meta = read_metadata(row)
        meta.update(entries)
        write_metadata(row, meta)


def book_status(engine: sa.Engine, book_id: str) -> dict[str, Any] | None:
    """Title and production columns of one book as a plain dict (``e3 status``)."""
    with Session(engine) as session:
        title = session.scalar(sa.select(Title).where(Title.book_id == book_id))
        if title is None:
            return None
        row = production_row(session, book_id, create=False)
        out: dict[str, Any] = {
            "book_id": title.book_id,
            "title": title.title,
            "author": title.author,
            "language": title.language,
            "audiobook_complete": bool(title.audiobook_complete),
            "narrator_id": row.narrator_id if row else title.audiobook_narrator_id,
        }
        if row is not None:
            out["status"] = row.status
            for step in STEPS:
                out[f"{step}_status"] = getattr(row, f"{step}_status")
                for when in ("started_at", "completed_at"):
                    stamp = getattr(row, f"{step}_{when}", None)
                    if stamp is not None:
                        out[f"{step}_{when}"] = stamp.isoformat(timespec="seconds")
            for col in ("total_chapters", "total_words", "total_chunks", "audio_jobs_completed",
                        "total_audio_files", "audio_duration_seconds", "audio_file_size_bytes",
                        "total_image_jobs", "image_jobs_completed", "total_videos_created"):
                out[col] = getattr(row, col)
            meta = read_metadata(row)
            if meta.get("last_error"):
                out["last_error"] = meta["last_error"]
        return out


# --- progress that other seed tables mirror ------------------------------------------------------

UPLOAD_SOURCE_PREFIX = "upload:"


def _upload_conversion_job(session: Session, book_id: str):
    """The queued/running conversion job of the upload a book came from, if it came from one."""
    import uuid

    from e3.catalog.models import ConversionJob

    source = session.scalar(sa.select(Title.source_url).where(Title.book_id == book_id))
    if not source or not source.startswith(UPLOAD_SOURCE_PREFIX):
        return None
    audiobook_id = uuid.UUID(source[len(UPLOAD_SOURCE_PREFIX):].split("|", 1)[0])
    return session.scalar(
        sa.select(ConversionJob).where(ConversionJob.audiobook_id == audiobook_id)
        .order_by(ConversionJob.created_at.desc()).limit(1)
    )


def report_chunk_progress(engine: sa.Engine, book_id: str, done: int, total: int) -> None:
    """Move audio_jobs_completed, and an upload's conversion_jobs.progress (chunks are 0-90%)."""
    with Session(engine) as session, session.begin():
        row = production_row(session, book_id)
        row.audio_jobs_completed = done
        row.updated_at = utcnow()
        job = _upload_conversion_job(session, book_id)
        if job is not None and total:
            job.progress = max(job.progress or 0, min(90, int(90 * done / total)))
            if job.status == "queued":
                job.status, job.started_at = "running", utcnow()


def _finish_upload(session: Session, book_id: str, *, error: str | None = None,
                   audio_path: str | None = None) -> None:
    """Mirror a book's end on the upload it came from: both rows completed, or failed with the reason."""
    job = _upload_conversion_job(session, book_id)
    if job is None:
        return
    if error is not None and job.status == "completed":
        return  # a later step (subtitles, pictures) failing does not undo a delivered audiobook
    now = utcnow()
    audiobook = job.audiobook
    if error is not None:
        job.status, job.error_message, job.completed_at = "failed", error, now
        audiobook.status = "failed"
    else:
        job.status, job.progress, job.completed_at, job.error_message = "completed", 100, now, None
        audiobook.status, audiobook.audio_path = "completed", audio_path
    if job.started_at is None:
        job.started_at = now
    audiobook.updated_at = now


def complete_upload(engine: sa.Engine, book_id: str, audio_path: str) -> None:
    """Called when a book's m4b is written; a no-op for books that are not uploads."""
    with Session(engine) as session, session.begin():
        _finish_upload(session, book_id, audio_path=audio_path)


def finish_audiobook(engine: sa.Engine, book_id: str, m4b_path: str, *, duration: float, size_bytes: int,
                     files: int, loudness: dict | None) -> None:
    """The m4b is made: audio_combination completed with its numbers, the title complete, the
    loudness and path in the row's metadata, and the upload it came from (if any) finished."""
    mark(engine, book_id, "audio_combination", "completed", audio_duration_seconds=int(round(duration)),
         audio_file_size_bytes=size_bytes, total_audio_files=files)
    with Session(engine) as session, session.begin():
        session.execute(sa.update(Title).where(Title.book_id == book_id).values(audiobook_complete=True))
    merge_metadata(engine, book_id, loudness=loudness, m4b_path=m4b_path)
    complete_upload(engine, book_id, m4b_path)


def record_parsed_book(engine: sa.Engine, book_id: str, book) -> None:
    """The parse is done: the title row takes the book's own title, author, language and year;
    a book registered before its language was known (inbox, uploads) that still has the default
    narrator gets one of its language; ``metadata`` and ``parse_novel`` complete with the counts."""
    from e3.catalog.service import choose_narrator

    with Session(engine) as session, session.begin():
        row = session.scalar(sa.select(Title).where(Title.book_id == book_id))
        if book.language and row.audiobook_narrator_id in (None, DEFAULT_NARRATOR_ID):
            chosen = choose_narrator(session, book.language)
            if chosen and chosen != row.audiobook_narrator_id:
                row.audiobook_narrator_id = chosen
                session.execute(sa.update(AudiobookProduction).where(AudiobookProduction.book_id == book_id)
                                .values(narrator_id=chosen))
        row.title = book.title[:500] if book.title else row.title
        row.author = (book.author or "")[:500] or row.author
        row.language = book.language or row.language
        row.publication_year = book.year  # the work's year; never the edition's
        row.genre = book.subjects[0][:255] if book.subjects else row.genre
    mark(engine, book_id, "metadata", "completed")
    mark(engine, book_id, "parse_novel", "completed", total_chapters=book.chapter_count,
         total_words=book.total_words)
