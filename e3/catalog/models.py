"""SQLAlchemy 2 models that mirror every table documented in ``../shared/seeds``.

Four seed systems, one catalog:

- ``000`` E3: ``titles``, ``narrators``, ``audiobook_production``, ``comfyui_jobs``;
- ``002`` the audiobook web app: ``users``, ``audiobooks``, ``conversion_jobs``;
- ``003`` the MP3-to-m4b merger: ``jobs``;
- ``004`` the background-music channel studio: ``channels``, ``video_jobs``, ``audio_tracks``,
  ``images``, ``render_tasks``.

Column names, types, defaults, NOT NULL, UNIQUE and CHECK constraints, foreign keys with their
cascades and every listed index follow the seeds. The few places where the seeds disagree or two
systems share a name are decided in ``sql/README.md``; look there before changing a column here.
The Alembic migrations in ``sql/migrations`` and ``sql/schema.sql`` are kept equal to this file by
tests.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from e3.catalog.types import CURRENT_TIMESTAMP, JSONB, gen_random_uuid

# A fixed naming convention keeps constraint names identical across migrations, schema.sql and
# both dialects, so the equality tests compare like with like.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


STEP_STATUSES = ("pending", "processing", "completed", "failed")
COMFYUI_JOB_STATUSES = ("pending", "processing", "done", "failed")
CONVERSION_JOB_STATUSES = ("queued", "running", "completed", "failed")
MERGE_JOB_STATUSES = ("queued", "running", "completed", "failed")
AUDIOBOOK_STATUSES = ("pending", "processing", "completed", "failed")
VIDEO_JOB_STATUSES = (
    "planned",
    "generating_music",
    "generating_image",
    "rendering",
    "ready_for_export",
    "completed",
    "failed",
)
# 'comfyui' extends the seed's enums: E3 generates music and images through a ComfyUI server.
MUSIC_PROVIDERS = ("dummy", "mubert", "beatoven", "comfyui")
VISUAL_PROVIDERS = ("dummy", "leonardo", "gemini", "comfyui")
RENDER_STATUSES = ("pending", "in_progress", "completed", "failed")

Timestamp = sa.DateTime(timezone=True)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _status_column(nullable: bool = False) -> Mapped[str]:
    return mapped_column(sa.String(20), nullable=nullable, default="pending", server_default="pending")


# --------------------------------------------------------------------------------------------
# 000: E3 itself
# --------------------------------------------------------------------------------------------


class Title(Base):
    """Master content catalog: one row per book (``book_id`` such as ``pg98``)."""

    __tablename__ = "titles"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    book_id: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    title: Mapped[str | None] = mapped_column(sa.String(500))
    author: Mapped[str | None] = mapped_column(sa.String(500))
    genre: Mapped[str | None] = mapped_column(sa.String(255))
    language: Mapped[str | None] = mapped_column(sa.String(16))
    publication_year: Mapped[int | None] = mapped_column(sa.Integer)
    source_url: Mapped[str | None] = mapped_column(sa.Text)
    audiobook_complete: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    audiobook_narrator_id: Mapped[str | None] = mapped_column(
        sa.String(64), sa.ForeignKey("narrators.narrator_id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, server_default=CURRENT_TIMESTAMP)
    updated_at: Mapped[dt.datetime] = mapped_column(
        Timestamp, nullable=False, server_default=CURRENT_TIMESTAMP, onupdate=sa.func.now()
    )

    narrator: Mapped[Narrator | None] = relationship(foreign_keys=[audiobook_narrator_id])
    productions: Mapped[list[AudiobookProduction]] = relationship(
        back_populates="title_row", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        sa.Index("idx_titles_audiobook_complete", "audiobook_complete"),
        sa.Index("idx_titles_genre", "genre"),
        sa.Index("idx_titles_author", "author"),
        sa.CheckConstraint("book_id <> ''", name="book_id_not_empty"),
    )


class Narrator(Base):
    """Voice talent profiles. ``voice_model`` picks the TTS backend (``piper``, ``openai_tts``)."""

    __tablename__ = "narrators"

    narrator_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    narrator_name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    voice_sample_path: Mapped[str | None] = mapped_column(sa.Text)
    voice_model: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    language: Mapped[str | None] = mapped_column(sa.String(16))
    gender: Mapped[str | None] = mapped_column(sa.String(16))
    description: Mapped[str | None] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, server_default=CURRENT_TIMESTAMP)

    __table_args__ = (
        sa.Index("idx_narrators_active", "active"),
        sa.Index("idx_narrators_language", "language"),
        sa.CheckConstraint(_in("gender", ("male", "female", "neutral")) + " OR gender IS NULL", name="gender"),
    )


class AudiobookProduction(Base):
    """Workflow status of one book narrated by one narrator; columns follow the pipeline order."""

    __tablename__ = "audiobook_production"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    book_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("titles.book_id", ondelete="CASCADE"), nullable=False
    )
    narrator_id: Mapped[str | None] = mapped_column(
        sa.String(64), sa.ForeignKey("narrators.narrator_id", ondelete="RESTRICT")
    )
    status: Mapped[str] = _status_column()
    parse_novel_status: Mapped[str] = _status_column()
    parse_novel_completed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    metadata_status: Mapped[str] = _status_column()
    metadata_completed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    total_chapters: Mapped[int | None] = mapped_column(sa.Integer)
    total_chunks: Mapped[int | None] = mapped_column(sa.Integer)
    total_words: Mapped[int | None] = mapped_column(sa.Integer)
    audio_generation_status: Mapped[str] = _status_column()
    audio_generation_completed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    audio_jobs_completed: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    total_audio_files: Mapped[int | None] = mapped_column(sa.Integer)
    audio_duration_seconds: Mapped[int | None] = mapped_column(sa.Integer)
    audio_file_size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    audio_files_moved_status: Mapped[str] = _status_column()
    audio_files_moved_completed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    audio_combination_planned_status: Mapped[str] = _status_column()
    audio_combination_planned_completed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    audio_combination_status: Mapped[str] = _status_column()
    audio_combination_completed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    image_prompts_status: Mapped[str] = _status_column()
    image_prompts_started_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    image_prompts_completed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    image_jobs_generation_status: Mapped[str] = _status_column()
    image_jobs_generation_completed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    image_jobs_completed: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    total_image_jobs: Mapped[int | None] = mapped_column(sa.Integer)
    image_generation_status: Mapped[str] = _status_column()
    image_generation_completed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    subtitle_generation_status: Mapped[str] = _status_column()
    subtitle_generation_completed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    video_generation_status: Mapped[str] = _status_column()
    video_generation_started_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    video_generation_completed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    total_videos_created: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    # "metadata" is reserved on declarative classes; the column keeps the seed's name.
    metadata_json: Mapped[str | None] = mapped_column("metadata", sa.Text)
    retry_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    max_retries: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=3, server_default="3")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, server_default=CURRENT_TIMESTAMP)
    updated_at: Mapped[dt.datetime] = mapped_column(
        Timestamp, nullable=False, server_default=CURRENT_TIMESTAMP, onupdate=sa.func.now()
    )

    title_row: Mapped[Title] = relationship(back_populates="productions")
    narrator: Mapped[Narrator | None] = relationship()

    __table_args__ = (
        sa.Index("idx_audiobook_book_id", "book_id"),
        sa.Index("idx_audiobook_narrator_id", "narrator_id"),
        sa.Index("idx_audiobook_status", "status"),
        sa.Index(
            "idx_audiobook_workflow_status",
            "parse_novel_status",
            "audio_generation_status",
            "video_generation_status",
        ),
        sa.Index("idx_audiobook_created", "created_at"),
        *[
            sa.CheckConstraint(_in(col, STEP_STATUSES), name=col)
            for col in (
                "status",
                "parse_novel_status",
                "metadata_status",
                "audio_generation_status",
                "audio_files_moved_status",
                "audio_combination_planned_status",
                "audio_combination_status",
                "image_prompts_status",
                "image_jobs_generation_status",
                "image_generation_status",
                "subtitle_generation_status",
                "video_generation_status",
            )
        ],
    )


class ComfyUIJob(Base):
    """The ComfyUI job queue: priority (lower first), leases, retries."""

    __tablename__ = "comfyui_jobs"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    config_name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    job_type: Mapped[str] = mapped_column(sa.String(32), nullable=False, default="image", server_default="image")
    workflow_id: Mapped[str | None] = mapped_column(sa.String(255))
    priority: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=100, server_default="100")
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="pending", server_default="pending")
    run_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    retries_attempted: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    retry_limit: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=3, server_default="3")
    start_time: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    end_time: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    duration: Mapped[float | None] = mapped_column(sa.Float)
    error_trace: Mapped[str | None] = mapped_column(sa.Text)
    metadata_json: Mapped[str | None] = mapped_column("metadata", sa.Text)
    worker_id: Mapped[str | None] = mapped_column(sa.String(255))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)

    __table_args__ = (
        sa.Index("idx_comfyui_config_name", "config_name", unique=True),
        sa.Index("idx_comfyui_status_priority", "status", "priority"),
        sa.Index("idx_comfyui_started", "start_time"),
        sa.CheckConstraint(_in("status", COMFYUI_JOB_STATUSES), name="status"),
    )


# --------------------------------------------------------------------------------------------
# 002: the audiobook web app (uploads)
# --------------------------------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, primary_key=True, default=uuid.uuid4, server_default=gen_random_uuid()
    )
    email: Mapped[str] = mapped_column(sa.String(255), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    is_active: Mapped[bool | None] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    is_superuser: Mapped[bool | None] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    created_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, server_default=CURRENT_TIMESTAMP)
    updated_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, onupdate=sa.func.now())

    audiobooks: Mapped[list[Audiobook]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (sa.Index("idx_users_email", "email"),)


class Audiobook(Base):
    __tablename__ = "audiobooks"

    id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, primary_key=True, default=uuid.uuid4, server_default=gen_random_uuid()
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    original_file_name: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    file_size: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    pdf_path: Mapped[str] = mapped_column(sa.String(1000), nullable=False)
    audio_path: Mapped[str | None] = mapped_column(sa.String(1000))
    status: Mapped[str | None] = mapped_column(sa.String(50), default="pending", server_default="pending")
    created_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, server_default=CURRENT_TIMESTAMP)
    updated_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, onupdate=sa.func.now())

    user: Mapped[User | None] = relationship(back_populates="audiobooks")
    conversion_jobs: Mapped[list[ConversionJob]] = relationship(
        back_populates="audiobook", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        sa.Index("idx_audiobooks_user_id", "user_id"),
        sa.Index("idx_audiobooks_status", "status"),
        sa.Index("idx_audiobooks_created_at", sa.desc("created_at")),
    )

    @property
    def book_id(self) -> str:
        """The book partition an upload becomes: ``up-`` and the first 12 hex digits of its id."""
        return f"up-{self.id.hex[:12]}"


class ConversionJob(Base):
    __tablename__ = "conversion_jobs"

    id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, primary_key=True, default=uuid.uuid4, server_default=gen_random_uuid()
    )
    audiobook_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, sa.ForeignKey("audiobooks.id", ondelete="CASCADE"), nullable=False
    )
    status: Mapped[str | None] = mapped_column(sa.String(50), default="queued", server_default="queued")
    progress: Mapped[int | None] = mapped_column(sa.Integer, default=0, server_default="0")
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    completed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, server_default=CURRENT_TIMESTAMP)

    audiobook: Mapped[Audiobook] = relationship(back_populates="conversion_jobs")

    __table_args__ = (
        sa.Index("idx_conversion_jobs_audiobook_id", "audiobook_id"),
        sa.Index("idx_conversion_jobs_status", "status"),
    )


# --------------------------------------------------------------------------------------------
# 003: the MP3-to-m4b merger
# --------------------------------------------------------------------------------------------


class MergeJob(Base):
    """A merge of audio folders into one m4b (the merger's ``jobs`` table)."""

    __tablename__ = "jobs"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="queued", server_default="queued")
    input_folders: Mapped[str] = mapped_column(sa.Text, nullable=False)
    output_file: Mapped[str | None] = mapped_column(sa.Text)
    start_time: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    end_time: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    log: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime, nullable=False, default=lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
        server_default=CURRENT_TIMESTAMP,
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime, nullable=False, default=lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
        server_default=CURRENT_TIMESTAMP,
        onupdate=lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
    )

    __table_args__ = (sa.CheckConstraint(_in("status", MERGE_JOB_STATUSES), name="status"),)


# --------------------------------------------------------------------------------------------
# 004: the background-music channel studio
# --------------------------------------------------------------------------------------------

VideoJobStatus = sa.Enum(*VIDEO_JOB_STATUSES, name="video_job_status", create_constraint=True)
MusicProvider = sa.Enum(*MUSIC_PROVIDERS, name="music_provider", create_constraint=True)
VisualProvider = sa.Enum(*VISUAL_PROVIDERS, name="visual_provider", create_constraint=True)
RenderStatus = sa.Enum(*RENDER_STATUSES, name="render_status", create_constraint=True)


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, primary_key=True, default=uuid.uuid4, server_default=gen_random_uuid()
    )
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    youtube_channel_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    brand_niche: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, server_default=CURRENT_TIMESTAMP)
    updated_at: Mapped[dt.datetime] = mapped_column(
        Timestamp, nullable=False, server_default=CURRENT_TIMESTAMP, onupdate=sa.func.now()
    )
    # Seed 004 "Future Enhancements" (migration 0002): Fernet ciphertext, never the token itself.
    youtube_refresh_token: Mapped[str | None] = mapped_column(sa.Text)

    video_jobs: Mapped[list[VideoJob]] = relationship(
        back_populates="channel", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        sa.Index("idx_channels_is_active", "is_active"),
        sa.Index("idx_channels_created_at", sa.desc("created_at")),
    )


class VideoJob(Base):
    __tablename__ = "video_jobs"

    id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, primary_key=True, default=uuid.uuid4, server_default=gen_random_uuid()
    )
    channel_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, sa.ForeignKey("channels.id", ondelete="CASCADE"), nullable=False
    )
    status: Mapped[str] = mapped_column(VideoJobStatus, nullable=False, default="planned", server_default="planned")
    niche_label: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    mood_keywords: Mapped[str] = mapped_column(sa.Text, nullable=False)
    target_duration_minutes: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    prompts_json: Mapped[Any | None] = mapped_column(JSONB)
    local_video_path: Mapped[str | None] = mapped_column(sa.Text)
    output_directory: Mapped[str] = mapped_column(sa.Text, nullable=False)
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, server_default=CURRENT_TIMESTAMP)
    updated_at: Mapped[dt.datetime] = mapped_column(
        Timestamp, nullable=False, server_default=CURRENT_TIMESTAMP, onupdate=sa.func.now()
    )
    # Seed 004 "Future Enhancements" (migration 0002): "public" or "scheduled" (private + publishAt).
    upload_strategy: Mapped[str | None] = mapped_column(sa.String(50))
    scheduled_time: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    youtube_video_id: Mapped[str | None] = mapped_column(sa.String(100))

    channel: Mapped[Channel] = relationship(back_populates="video_jobs")
    audio_tracks: Mapped[list[AudioTrack]] = relationship(
        back_populates="video_job", cascade="all, delete-orphan", passive_deletes=True,
        order_by="AudioTrack.order_index",
    )
    images: Mapped[list[Image]] = relationship(
        back_populates="video_job", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Image.order_index",
    )
    render_tasks: Mapped[list[RenderTask]] = relationship(
        back_populates="video_job", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        sa.CheckConstraint("target_duration_minutes BETWEEN 60 AND 90", name="target_duration_minutes"),
        sa.Index("idx_video_jobs_channel_id", "channel_id"),
        sa.Index("idx_video_jobs_status", "status"),
        sa.Index("idx_video_jobs_created_at", sa.desc("created_at")),
        sa.Index("idx_video_jobs_prompts", "prompts_json", postgresql_using="gin"),
    )

    @property
    def partition_key(self) -> str:
        """The short id used as this job's Dagster partition key."""
        return video_job_partition_key(self.id)


def video_job_partition_key(job_id: uuid.UUID) -> str:
    return f"vj-{job_id.hex[:12]}"


class AudioTrack(Base):
    __tablename__ = "audio_tracks"

    id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, primary_key=True, default=uuid.uuid4, server_default=gen_random_uuid()
    )
    video_job_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, sa.ForeignKey("video_jobs.id", ondelete="CASCADE"), nullable=False
    )
    provider: Mapped[str] = mapped_column(MusicProvider, nullable=False)
    provider_track_id: Mapped[str | None] = mapped_column(sa.String(255))
    order_index: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    duration_seconds: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2), nullable=False)
    local_file_path: Mapped[str] = mapped_column(sa.Text, nullable=False)
    license_document_url: Mapped[str | None] = mapped_column(sa.Text)
    prompt_text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, server_default=CURRENT_TIMESTAMP)

    video_job: Mapped[VideoJob] = relationship(back_populates="audio_tracks")

    __table_args__ = (
        sa.CheckConstraint("order_index BETWEEN 1 AND 20", name="order_index"),
        sa.CheckConstraint("duration_seconds > 0", name="duration_seconds"),
        sa.UniqueConstraint("video_job_id", "order_index"),
        sa.Index("idx_audio_tracks_video_job_id", "video_job_id"),
        sa.Index("idx_audio_tracks_order", "video_job_id", "order_index"),
    )


class Image(Base):
    """Generated pictures: a channel video's backgrounds (``video_job_id``, ``order_index`` 1-20)
    or a book's illustrations (``book_id``; ``order_index`` NULL). See ``sql/README.md``."""

    __tablename__ = "images"

    id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, primary_key=True, default=uuid.uuid4, server_default=gen_random_uuid()
    )
    video_job_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.Uuid, sa.ForeignKey("video_jobs.id", ondelete="CASCADE")
    )
    provider: Mapped[str] = mapped_column(VisualProvider, nullable=False)
    provider_image_id: Mapped[str | None] = mapped_column(sa.String(255))
    order_index: Mapped[int | None] = mapped_column(sa.Integer)
    local_file_path: Mapped[str] = mapped_column(sa.Text, nullable=False)
    prompt_text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, server_default=CURRENT_TIMESTAMP)
    # E3 extension: the book an illustration belongs to (NULL for channel backgrounds).
    book_id: Mapped[str | None] = mapped_column(
        sa.String(64), sa.ForeignKey("titles.book_id", ondelete="CASCADE")
    )

    video_job: Mapped[VideoJob | None] = relationship(back_populates="images")

    __table_args__ = (
        sa.CheckConstraint("order_index BETWEEN 1 AND 20", name="order_index"),
        sa.UniqueConstraint("video_job_id", "order_index"),
        sa.Index("idx_images_video_job_id", "video_job_id"),
        sa.Index("idx_images_order", "video_job_id", "order_index"),
        sa.Index("idx_images_book_id", "book_id"),
    )


class RenderTask(Base):
    __tablename__ = "render_tasks"

    id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, primary_key=True, default=uuid.uuid4, server_default=gen_random_uuid()
    )
    video_job_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, sa.ForeignKey("video_jobs.id", ondelete="CASCADE"), nullable=False
    )
    ffmpeg_command: Mapped[str] = mapped_column(sa.Text, nullable=False)
    local_video_path: Mapped[str | None] = mapped_column(sa.Text)
    resolution: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="1920x1080",
                                            server_default="1920x1080")
    duration_seconds: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 2))
    status: Mapped[str] = mapped_column(RenderStatus, nullable=False, default="pending", server_default="pending")
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, server_default=CURRENT_TIMESTAMP)
    completed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)

    video_job: Mapped[VideoJob] = relationship(back_populates="render_tasks")

    __table_args__ = (
        sa.Index("idx_render_tasks_video_job_id", "video_job_id"),
        sa.Index("idx_render_tasks_status", "status"),
        sa.Index("idx_render_tasks_created_at", sa.desc("created_at")),
    )


ALL_TABLES = [t.name for t in Base.metadata.sorted_tables]
