"""The channel studio (seed 004) without Dagster: channels, video jobs, their status and track lengths.

A channel publishes 60-90 minute "curated album" videos: 20 music tracks of 3-4.5 minutes, each
under its own background picture. A job moves through

    planned -> generating_music -> generating_image -> rendering -> ready_for_export -> completed

or ends ``failed`` with ``error_message``. The Dagster assets in ``e3_assets.studio`` move it
through the middle; ``e3 video new`` creates it and ``e3 video complete`` finishes it.

Scale for tests and small machines (real minutes and 1920x1080 by default):

- ``E3_VIDEO_SECONDS_PER_MINUTE`` (default 60): seconds of media per planned "minute". ``1`` makes a
  60-minute job 60 seconds long, with tracks of 3-4.5 seconds.
- ``E3_VIDEO_SIZE`` (default ``1920x1080``): the render and background image size.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from e3.catalog.models import VIDEO_JOB_STATUSES, Channel, VideoJob, video_job_partition_key
from e3.config import settings
from e3.errors import E3Error

TRACKS = 20
MIN_MINUTES, MAX_MINUTES = 60, 90
TRACK_MIN_MINUTES, TRACK_MAX_MINUTES = 3.0, 4.5
# The audio crossfade between tracks, in real seconds (scaled with E3_VIDEO_SECONDS_PER_MINUTE);
# e3.video.channel renders with it (tests/pipeline/test_studio.py checks).
CROSSFADE_SECONDS = 2.0
DEFAULT_MOOD = "calm, warm, ambient"
DEFAULT_MINUTES = 60
PIPELINE = ("planned", "generating_music", "generating_image", "rendering", "ready_for_export")
KEY = re.compile(r"^vj-[0-9a-f]{12}$")


class StudioError(E3Error):
    """Bad studio input (unknown channel, minutes out of range, a job in the wrong state)."""


# ------------------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class StudioScale:
    seconds_per_minute: float = 60.0
    width: int = 1920
    height: int = 1080

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text or "")
    if not m:
        raise StudioError(f"video size {text!r} is not WIDTHxHEIGHT (e.g. 1920x1080)")
    w, h = int(m[1]), int(m[2])
    if w < 16 or h < 16 or w % 2 or h % 2:
        raise StudioError(f"video size {text!r}: width and height must be even and at least 16")
    return w, h


def studio_scale() -> StudioScale:
    """The scale from ``E3_VIDEO_SECONDS_PER_MINUTE`` and ``E3_VIDEO_SIZE`` (see the module docstring)."""
    chosen = settings()
    w, h = parse_size(chosen.video_size)
    return StudioScale(chosen.video_seconds_per_minute, w, h)


# ------------------------------------------------------------------------------------- durations

def overlap_shares(count: int = TRACKS, crossfade_seconds: float = CROSSFADE_SECONDS) -> list[int]:
    """Hundredths of a minute to add to each track so the crossfades eat nothing of the target.

    Consecutive tracks overlap by ``crossfade_seconds``: an inner track loses a whole crossfade
    (half at each end), the first and last half of one. The total is rounded up to the hundredth,
    so the video runs at most 0.6 s over its target.
    """
    need = math.ceil(round((count - 1) * crossfade_seconds / 60 * 100, 6)) if count > 1 else 0
    weights = [1] + [2] * (count - 2) + [1] if count > 1 else [0]
    total_w = sum(weights) or 1
    cum, shares, acc = 0, [], 0
    for w in weights:
        acc += w
        nxt = -(-need * acc // total_w)  # ceil: the shares add up to exactly ``need``
        shares.append(nxt - cum)
        cum = nxt
    return shares


def planned_total(target_minutes: float, count: int = TRACKS, crossfade_seconds: float = CROSSFADE_SECONDS) -> float:
    """The sum of the planned track lengths: the target plus the crossfade overlaps."""
    return round(target_minutes + sum(overlap_shares(count, crossfade_seconds)) / 100, 2)


def track_minutes(target_minutes: int, *, count: int = TRACKS, seed: int | None = None,
                  low: float = TRACK_MIN_MINUTES, high: float = TRACK_MAX_MINUTES,
                  crossfade_seconds: float = CROSSFADE_SECONDS) -> list[float]:
    """``count`` track lengths in minutes to generate, so the crossfaded video lasts the target.

    Each track's heard part (its length minus its share of the crossfades, ``overlap_shares``) is
    in [low, high] and the heard parts add up to ``target_minutes``; the lengths themselves add up
    to ``planned_total``. Lengths vary (seeded) where the target leaves room: 60 minutes over 20
    tracks is 3 heard minutes each, 75 minutes spreads 15 spare minutes at random. In hundredths of
    a minute (exact in seconds at any E3_VIDEO_SECONDS_PER_MINUTE).
    """
    if not count * low - 1e-9 <= target_minutes <= count * high + 1e-9:
        raise StudioError(f"{target_minutes} minutes cannot be {count} tracks of {low:g}-{high:g} minutes")
    rng = random.Random(seed)
    spare = target_minutes - count * low
    room = [high - low] * count
    extra = [0.0] * count
    # Water-filling: share the spare time by random weights, never past a track's room.
    while spare > 1e-9:
        open_ = [i for i in range(count) if room[i] - extra[i] > 1e-9]
        weights = [rng.uniform(0.2, 1.0) for _ in open_]
        total_w = sum(weights)
        given = 0.0
        for i, w in zip(open_, weights):
            add = min(spare * w / total_w, room[i] - extra[i])
            extra[i] += add
            given += add
        spare -= given
    lo, hi = round(low * 100), round(high * 100)
    parts = [min(hi, max(lo, round((low + e) * 100))) for e in extra]
    diff = round(target_minutes * 100) - sum(parts)
    i = 0
    while diff:  # rounding drift, a few hundredths at most
        step = 1 if diff > 0 else -1
        if lo <= parts[i % count] + step <= hi:
            parts[i % count] += step
            diff -= step
        i += 1
    return [(p + x) / 100 for p, x in zip(parts, overlap_shares(count, crossfade_seconds))]


def heard_minutes(minutes: list[float], crossfade_seconds: float = CROSSFADE_SECONDS) -> list[float]:
    """Each planned track's length minus its share of the crossfades (what plays as its chapter)."""
    return [round(m - x / 100, 2) for m, x in zip(minutes, overlap_shares(len(minutes), crossfade_seconds))]


def track_seconds(target_minutes: int, scale: StudioScale | None = None, *, seed: int | None = None) -> list[float]:
    """Track lengths in seconds under ``scale`` (real minutes by default), summing to ``planned_total``."""
    spm = (scale or StudioScale()).seconds_per_minute
    minutes = track_minutes(target_minutes, seed=seed)
    secs = [round(m * spm, 2) for m in minutes]
    secs[-1] = round(planned_total(target_minutes) * spm - sum(secs[:-1]), 2)  # exact sum after rounding
    return secs


def track_title(prompt: str, index: int) -> str:
    """A short chapter title from a music prompt: its first clause, at most six words."""
    first = re.split(r"[.;:,\n]| with ", prompt.strip(), maxsplit=1)[0].strip()
    words = first.split()[:6]
    title = " ".join(words).strip(" -") or f"Track {index}"
    return title[:1].upper() + title[1:]


# ------------------------------------------------------------------------------------- channels

def add_channel(engine: sa.Engine, name: str, niche: str, youtube_channel_id: str | None = None) -> Channel:
    """Create an active channel; names are unique (commands refer to channels by name)."""
    name, niche = (name or "").strip(), (niche or "").strip()
    if not name or len(name) > 255:
        raise StudioError("a channel name must be 1-255 characters")
    if not niche or len(niche) > 255:
        raise StudioError("--niche must be 1-255 characters")
    with Session(engine, expire_on_commit=False) as s, s.begin():
        if s.scalar(sa.select(Channel.id).where(Channel.name == name)) is not None:
            raise StudioError(f"a channel named {name!r} already exists")
        if youtube_channel_id and s.scalar(
                sa.select(Channel.id).where(Channel.youtube_channel_id == youtube_channel_id)) is not None:
            raise StudioError(f"YouTube channel id {youtube_channel_id!r} belongs to another channel")
        channel = Channel(name=name, brand_niche=niche, youtube_channel_id=youtube_channel_id or None)
        s.add(channel)
    return channel


def list_channels(engine: sa.Engine) -> list[dict]:
    """Every channel with its job counts (the seed's "active channels with job counts", all channels)."""
    completed = sa.func.count(sa.case((VideoJob.status == "completed", 1)))
    q = (sa.select(Channel, sa.func.count(VideoJob.id), completed)
         .outerjoin(VideoJob, VideoJob.channel_id == Channel.id)
         .group_by(Channel.id).order_by(Channel.created_at, Channel.name))
    with Session(engine) as s:
        return [{"name": c.name, "niche": c.brand_niche, "youtube_channel_id": c.youtube_channel_id,
                 "active": bool(c.is_active), "jobs": total, "completed": done, "id": str(c.id)}
                for c, total, done in s.execute(q)]


def channel_by_name(session: Session, name: str) -> Channel:
    channel = session.scalar(sa.select(Channel).where(Channel.name == name))
    if channel is None:
        raise StudioError(f"no channel named {name!r} (add it with `e3 channel add`)")
    return channel


# ------------------------------------------------------------------------------------- jobs

def check_minutes(minutes: int) -> int:
    if not isinstance(minutes, int) or not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise StudioError(f"--minutes must be {MIN_MINUTES}-{MAX_MINUTES}, not {minutes}")
    return minutes


def clean_mood(mood: str) -> str:
    words = [w.strip() for w in (mood or "").split(",") if w.strip()]
    if not words:
        raise StudioError("--mood needs at least one word, e.g. \"elegant, classical\"")
    return ", ".join(words)


def new_video_job(engine: sa.Engine, foundry_root: Path, channel_name: str, minutes: int, mood: str,
                  niche: str | None = None) -> VideoJob:
    """A ``planned`` job for the channel; its folder is ``<foundry>/_video_jobs/<key>``."""
    check_minutes(minutes)
    mood = clean_mood(mood)
    with Session(engine, expire_on_commit=False) as s, s.begin():
        channel = channel_by_name(s, channel_name)
        job_id = uuid.uuid4()
        key = video_job_partition_key(job_id)
        job = VideoJob(id=job_id, channel_id=channel.id, status="planned",
                       niche_label=(niche or channel.brand_niche).strip()[:255], mood_keywords=mood,
                       target_duration_minutes=minutes,
                       output_directory=str(Path(foundry_root) / "_video_jobs" / key))
        s.add(job)
    return job


def next_job_for_channel(engine: sa.Engine, foundry_root: Path, channel: Channel) -> VideoJob | None:
    """The schedule's next job: mood and minutes from the channel's newest job (else defaults).

    None when the channel still has a job waiting in ``planned``: a stopped daemon must not pile
    up a backlog of identical jobs.
    """
    with Session(engine) as s:
        waiting = s.scalar(sa.select(sa.func.count(VideoJob.id)).where(
            VideoJob.channel_id == channel.id, VideoJob.status == "planned"))
        last = s.scalar(sa.select(VideoJob).where(VideoJob.channel_id == channel.id)
                        .order_by(VideoJob.created_at.desc()).limit(1))
    if waiting:
        return None
    return new_video_job(engine, foundry_root, channel.name,
                         last.target_duration_minutes if last else DEFAULT_MINUTES,
                         last.mood_keywords if last else DEFAULT_MOOD,
                         last.niche_label if last else None)


def active_channels(engine: sa.Engine) -> list[Channel]:
    with Session(engine, expire_on_commit=False) as s:
        return list(s.scalars(sa.select(Channel).where(Channel.is_active.is_(True)).order_by(Channel.created_at)))


def _key_range(key: str) -> tuple[uuid.UUID, uuid.UUID]:
    prefix = key[3:]
    return uuid.UUID(prefix + "0" * 20), uuid.UUID(prefix + "f" * 20)


def job_by_key(session: Session, key: str) -> VideoJob:
    """The job whose partition key (``vj-<first 12 hex of its id>``) is ``key``."""
    if not KEY.fullmatch(key or ""):
        raise StudioError(f"{key!r} is not a video job key (vj- and 12 hex digits)")
    lo, hi = _key_range(key)
    jobs = list(session.scalars(sa.select(VideoJob).where(VideoJob.id.between(lo, hi))))
    if not jobs:
        raise StudioError(f"no video job {key}")
    if len(jobs) > 1:  # 48 random bits: practically never
        raise StudioError(f"{key} matches {len(jobs)} jobs; use the full id")
    return jobs[0]


def load_job(engine: sa.Engine, key: str) -> VideoJob:
    with Session(engine, expire_on_commit=False) as s:
        return job_by_key(s, key)


def list_jobs(engine: sa.Engine, channel_name: str | None = None) -> list[dict]:
    q = sa.select(VideoJob, Channel.name).join(Channel).order_by(VideoJob.created_at.desc())
    if channel_name:
        q = q.where(Channel.name == channel_name)
    with Session(engine) as s:
        return [job_summary(job, channel) for job, channel in s.execute(q)]


def job_summary(job: VideoJob, channel_name: str | None = None) -> dict:
    return {"key": job.partition_key, "id": str(job.id), "channel": channel_name, "status": job.status,
            "niche": job.niche_label, "mood": job.mood_keywords, "minutes": job.target_duration_minutes,
            "video": job.local_video_path, "output_directory": job.output_directory,
            "error": job.error_message,
            "created_at": job.created_at.isoformat() if job.created_at else None}


def job_status(engine: sa.Engine, key: str) -> dict:
    """One job with its tracks, images and render tasks (``e3 video status``)."""
    with Session(engine) as s:
        job = job_by_key(s, key)
        out = job_summary(job, job.channel.name)
        out["tracks"] = len(job.audio_tracks)
        out["track_seconds"] = round(sum(float(t.duration_seconds) for t in job.audio_tracks), 2)
        out["images"] = len(job.images)
        out["render_tasks"] = [{"status": r.status, "resolution": r.resolution,
                                "duration_seconds": float(r.duration_seconds) if r.duration_seconds else None,
                                "error": r.error_message, "video": r.local_video_path}
                               for r in sorted(job.render_tasks, key=lambda r: r.created_at)]
    return out


def allowed(current: str, new: str) -> bool:
    """The documented flow, plus reruns: a failed or unfinished job may restart any pipeline step;
    ``completed`` only follows ``ready_for_export`` and is final."""
    if new not in VIDEO_JOB_STATUSES or current == "completed":
        return False
    if new == "completed":
        return current == "ready_for_export"
    return True


def move(engine: sa.Engine, key: str, status: str, *, error: str | None = None, **values) -> VideoJob:
    """Set the job's status (and other columns); ``failed`` stores ``error``, others clear it."""
    with Session(engine, expire_on_commit=False) as s, s.begin():
        job = job_by_key(s, key)
        if not allowed(job.status, status):
            raise StudioError(f"{key} is {job.status}; it cannot become {status}")
        job.status = status
        job.error_message = (error or "failed")[:4000] if status == "failed" else None
        for column, value in values.items():
            if not hasattr(VideoJob, column):
                raise ValueError(f"video_jobs has no column {column!r}")
            setattr(job, column, value)
        job.updated_at = dt.datetime.now(dt.timezone.utc)
    return job


def complete(engine: sa.Engine, key: str) -> VideoJob:
    """``ready_for_export`` -> ``completed`` (the user uploaded the export folder)."""
    with Session(engine) as s:
        job = job_by_key(s, key)
        if job.status != "ready_for_export":
            raise StudioError(f"{key} is {job.status}, not ready_for_export; only an exported job can be completed")
    return move(engine, key, "completed")
