"""The narrated book video (``book_video``, partitioned by book).

The book's illustrations appear at the chapter positions they illustrate (``images/prompts.json``:
a scene's ``chapter_index`` and its ``position`` in the chapter, 0-1, else its ``scene_index``
spread evenly), timed by the m4b's chapter marks (``audiobook/combined/<id>.m4b.json``), over the
m4b's narration, with the book's chapters and the SRT as a soft subtitle track. Each chapter opens
on its own picture (its first illustration, else its generated title card), and no still is held
longer than ``E3_BOOK_VIDEO_MAX_HOLD`` seconds (default 180) where a chapter has another picture, its
card or the cover to alternate with (``e3.video.book.slide_timeline``).

One video per book, ``videos/<book_id>.mp4``; with ``per_chapter`` (or ``E3_BOOK_VIDEO_PER_CHAPTER=1``)
one per chapter, ``videos/<book_id>-chNNN.mp4``. A rerun with unchanged inputs renders nothing.
"""

import time
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from e3 import code_versions
from e3.catalog.models import Image
from e3.config import settings
from e3.video.book import make_book_videos
from e3_assets.common import book_asset, catalog_step, human_duration
from e3_assets.narration.assets import audiobook_m4b, subtitles
from e3_resources.catalog import CatalogResource
from e3_resources.ffmpeg import FFmpegResource
from e3_resources.foundry import FoundryResource

from e3_assets.pictures.assets import illustrations as _illustrations


class BookVideoConfig(dg.Config):
    per_chapter: bool | None = Field(default=None, description="One video per chapter instead of one per "
                                                               "book; default E3_BOOK_VIDEO_PER_CHAPTER or false.")


@book_asset(
    deps=[audiobook_m4b, subtitles, _illustrations],
    group_name="video",
    kinds={"ffmpeg", "mp4"},
    pool="ffmpeg",
    code_version=code_versions.RENDER,
    description="The narrated book video (videos/<book_id>.mp4): illustrations at the chapter positions they "
                "show, over the m4b's narration, with the book's chapters and soft subtitles; each chapter "
                "opens on its picture or title card, and stills change at least every E3_BOOK_VIDEO_MAX_HOLD "
                "s (180). One per chapter with per_chapter / E3_BOOK_VIDEO_PER_CHAPTER=1.",
)
def book_video(context: dg.AssetExecutionContext, config: BookVideoConfig, catalog: CatalogResource,
               foundry: FoundryResource, ffmpeg: FFmpegResource) -> dg.MaterializeResult:
    book_id = context.partition_key
    paths = foundry.book(book_id)
    started = time.monotonic()
    per_chapter = settings(book_video_per_chapter=config.per_chapter).book_video_per_chapter
    with catalog_step(catalog, book_id, "video_generation"):
        with catalog.session() as s:
            files = list(s.scalars(sa.select(Image.local_file_path).where(
                Image.book_id == book_id, Image.video_job_id.is_(None))))
        images = sorted(Path(f) for f in files if Path(f).is_file())
        made = make_book_videos(paths, book_id, images, render_kwargs=ffmpeg.render_kwargs(),
                                per_chapter=per_chapter, log=lambda m: context.log.info(f"{book_id}: {m}"))
        catalog.mark(book_id, "video_generation", "completed", total_videos_created=len(made.videos))
    seconds = sum(v["duration"] for v in made.videos)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(made.outs[0] if len(made.outs) == 1 else paths.videos)),
            "videos": len(made.videos),
            "per_chapter": per_chapter,
            "duration_seconds": round(seconds, 2),
            "duration": human_duration(seconds),
            "illustrations": len(images),
            "slides": sum(v["slides"] for v in made.videos),
            "chapters": sum(v["chapters"] for v in made.videos),
            "reused": made.reused,
            "wall_seconds": round(time.monotonic() - started, 2),
        },
        data_version=dg.DataVersion(made.inputs_hash[:16]),
    )
