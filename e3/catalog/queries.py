"""Catalog queries used by the CLI and the assets."""

from __future__ import annotations

import uuid

import sqlalchemy as sa


def video_job_with_assets(engine: sa.Engine, job_id: uuid.UUID) -> dict | None:
    """A video job with its audio tracks and images, ordered by order_index.

    This is the seed's "Get video job with all related assets" query made valid: Postgres forbids
    ``json_agg(DISTINCT ... ORDER BY x)`` unless x is the aggregated value, so each list is
    aggregated in its own subquery instead (which also avoids the tracks x images cross product).
    """
    from sqlalchemy.orm import Session, selectinload

    from e3.catalog.models import VideoJob

    with Session(engine) as s:
        job = s.scalar(
            sa.select(VideoJob)
            .options(selectinload(VideoJob.audio_tracks), selectinload(VideoJob.images))
            .where(VideoJob.id == job_id)
        )
        if job is None:
            return None
        return {
            "id": str(job.id),
            "status": job.status,
            "niche_label": job.niche_label,
            "audio_tracks": [
                {"id": str(t.id), "order_index": t.order_index, "duration_seconds": float(t.duration_seconds),
                 "local_file_path": t.local_file_path}
                for t in job.audio_tracks
            ],
            "images": [
                {"id": str(i.id), "order_index": i.order_index, "local_file_path": i.local_file_path}
                for i in job.images
            ],
        }
