"""The channel studio's assets, partitioned by video job (dynamic partition set ``video_jobs``).

video_plan -> music_tracks -> background_images -> channel_video -> export_package -> youtube_upload

Each asset moves ``video_jobs.status`` along the documented flow (``job_stage``) and calls one step
of ``e3.video.channel``, which writes the job's files and rows; any failure sets ``failed`` with
the reason in ``error_message``.
"""

import contextlib
from collections.abc import Iterator

import dagster as dg

from e3 import code_versions
from e3.catalog.models import VideoJob
from e3.errors import E3Error
from e3.media.thumbs import thumbnails_markdown
from e3_assets.common import every, human_duration, human_size, pictures_metadata, video_job_asset
from e3_resources.catalog import CatalogResource
from e3_resources.comfyui import ComfyUIResource
from e3_resources.ffmpeg import FFmpegResource
from e3_resources.llm import LLMResource


# ------------------------------------------------------------------------------------- helpers

def _job(catalog: CatalogResource, key: str) -> VideoJob:
    from e3.studio import StudioError, load_job

    try:
        return load_job(catalog.engine, key)
    except StudioError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None


@contextlib.contextmanager
def job_stage(catalog: CatalogResource, key: str, status: str | None) -> Iterator[VideoJob]:
    """Move the job to ``status``; on any error mark it ``failed`` with the reason and re-raise.

    E3Errors (bad input) end as a Failure that is not retried.
    """
    from e3 import studio

    job = _job(catalog, key)
    if job.status == "completed":
        raise dg.Failure(f"{key} is completed; create a new job with `e3 video new`", allow_retries=False)
    if status is not None and job.status != status:
        job = studio.move(catalog.engine, key, status)
    try:
        yield job
    except E3Error as exc:
        studio.move(catalog.engine, key, "failed", error=str(exc))
        raise dg.Failure(description=f"{key}: {exc}", allow_retries=False) from exc
    except dg.Failure as exc:
        studio.move(catalog.engine, key, "failed", error=exc.description or "failed")
        raise
    except Exception as exc:
        studio.move(catalog.engine, key, "failed", error=f"{exc.__class__.__name__}: {exc}")
        raise
    except BaseException as exc:  # Ctrl-C, SIGTERM: the job never stays in a working status
        studio.move(catalog.engine, key, "failed", error=f"interrupted ({exc.__class__.__name__}); a rerun resumes")
        raise


@video_job_asset(
    group_name="channel",
    kinds={"python", "json"},
    description="20 unique music prompts and 20 unique visual prompts with track lengths adding up to the "
                "target (video_jobs.prompts_json), from the LLM when one is configured, else the offline "
                "planner. The job stays `planned`; a rerun keeps a valid plan.",
)
def video_plan(context: dg.AssetExecutionContext, catalog: CatalogResource, llm: LLMResource) -> dg.MaterializeResult:
    from e3.video.channel import plan_job

    key = context.partition_key
    with job_stage(catalog, key, "planned") as job:
        planned = plan_job(catalog.engine, job, llm.client() if llm.available() else None,
                           warn=context.log.warning)
    music = planned.plan["music_prompts"]
    return dg.MaterializeResult(
        metadata={
            "source": planned.source,
            "tracks": len(music),
            "target_minutes": job.target_duration_minutes,
            "first_prompts": dg.MetadataValue.md("\n".join(f"- {p['prompt']}" for p in music[:5])),
        },
        data_version=dg.DataVersion(planned.data_version),
    )


# ------------------------------------------------------------------------------------- music

@video_job_asset(
    deps=[video_plan],
    group_name="channel",
    kinds={"python", "flac"},
    pool="tts",  # the CPU-bound synthesis pool, shared with narration: both use every core
    description="20 tracks of 3-4.5 minutes adding up to the target (audio_tracks rows, status "
                "generating_music): the built-in synthesizer (provider dummy, on every core) or ACE-Step "
                "on ComfyUI (E3_MUSIC_PROVIDER=comfyui), or Beatoven / Mubert (beatoven, mubert: "
                "e3.providers.music). A rerun reuses finished tracks and never pays twice.",
)
def music_tracks(context: dg.AssetExecutionContext, catalog: CatalogResource,
                 comfyui: ComfyUIResource) -> dg.MaterializeResult:
    from e3.providers import music_provider_name
    from e3.video.channel import make_music

    key = context.partition_key
    with job_stage(catalog, key, "generating_music") as job:
        # dummy, comfyui, beatoven or mubert
        music = make_music(catalog.engine, job, music_provider_name(), comfyui, log=context.log.info)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(music.folder)),
            "provider": music.provider,
            "tracks": len(music.specs),
            "made_now": music.made_now,
            "reused": len(music.specs) - music.made_now,
            "total_seconds": music.total_seconds,
            "total": human_duration(music.total_seconds),
            "wall_seconds": music.seconds,
        },
        data_version=dg.DataVersion(music.data_version),
    )


# ------------------------------------------------------------------------------------- images

@video_job_asset(
    deps=[music_tracks],
    group_name="channel",
    kinds={"python", "png"},
    pool="comfyui",
    description="20 background pictures (1920x1080, or E3_VIDEO_SIZE) through ComfyUI or the offline "
                "painter, or Leonardo / Gemini (E3_IMAGE_PROVIDER); `images` rows whose order_index matches "
                "the tracks (status generating_image).",
)
def background_images(context: dg.AssetExecutionContext, catalog: CatalogResource, comfyui: ComfyUIResource,
                      ffmpeg: FFmpegResource) -> dg.MaterializeResult:
    from e3.video.channel import make_backgrounds_for_job

    key = context.partition_key
    with job_stage(catalog, key, "generating_image") as job:
        made = make_backgrounds_for_job(catalog.engine, job, comfyui, *ffmpeg.dimensions(), log=context.log.info)
    return dg.MaterializeResult(metadata=pictures_metadata(made.folder, made.results, size=made.size,
                                                           seconds=made.seconds),
                                data_version=dg.DataVersion(made.data_version))


# ------------------------------------------------------------------------------------- render

@video_job_asset(
    deps=[background_images],
    group_name="channel",
    kinds={"ffmpeg", "mp4"},
    pool="ffmpeg",
    code_version=code_versions.RENDER,
    description="The MP4 (status rendering): picture i over track i, crossfades, 20 chapters named after the "
                "tracks, audio at -14 LUFS; a render_tasks row with the exact ffmpeg commands. Sets "
                "video_jobs.local_video_path; a rerun with unchanged inputs does not render again.",
)
def channel_video(context: dg.AssetExecutionContext, catalog: CatalogResource,
                  ffmpeg: FFmpegResource) -> dg.MaterializeResult:
    from e3.video.channel import render_job

    key = context.partition_key
    progress = every(5.0, lambda fraction, _total, message: context.log.info(f"{key}: {fraction:.0%} ({message})"))
    with job_stage(catalog, key, "rendering") as job:
        video = render_job(catalog.engine, job, ffmpeg.render_kwargs(), log=context.log.info,
                           progress=lambda fraction, message: progress(fraction, 1.0, message))
    info = video.info
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(video.path)),
            "duration_seconds": round(info["duration"], 2),
            "duration": human_duration(info["duration"]),
            "size_bytes": info["size_bytes"],
            "size": human_size(info["size_bytes"]),
            "chapters": len(info["chapters"]),
            "resolution": info["resolution"],
            "reused": video.reused,
            "wall_seconds": video.seconds,
        },
        data_version=dg.DataVersion(info["inputs_hash"][:16]),
    )


# ------------------------------------------------------------------------------------- export

@video_job_asset(
    deps=[channel_video],
    group_name="channel",
    kinds={"python", "youtube"},
    description="A YouTube-ready folder (<output_directory>/export/): title, description with a timestamped "
                "tracklist from 00:00, tags, a 1280x720 thumbnail under 2 MB and the video. Sets "
                "ready_for_export; `e3 video complete KEY` marks the job completed after upload.",
)
def export_package(context: dg.AssetExecutionContext, catalog: CatalogResource) -> dg.MaterializeResult:
    from e3 import studio
    from e3.video.channel import export_job

    key = context.partition_key
    with job_stage(catalog, key, None) as job:
        package = export_job(catalog.engine, job)
        studio.move(catalog.engine, key, "ready_for_export")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(package.folder)),
            "thumbnail": dg.MetadataValue.md(thumbnails_markdown([package.thumbnail] if package.thumbnail else [],
                                                                 width=320) or "_none_"),
            "title": package.title,
            "tags": len(package.tags),
            "tracklist": dg.MetadataValue.md("```\n" + package.tracklist + "\n```"),
            "files": ", ".join(package.files),
        },
        data_version=dg.DataVersion(package.data_version),
    )


# ------------------------------------------------------------------------------------- upload

@video_job_asset(
    deps=[export_package],
    group_name="channel",
    kinds={"youtube"},
    description="Uploads the export package to YouTube (resumable; privacy from upload_strategy and "
                "scheduled_time) when the channel is connected (`e3 channel connect`), storing "
                "youtube_video_id and moving the job to completed; otherwise does nothing and says so.",
)
def youtube_upload(context: dg.AssetExecutionContext, catalog: CatalogResource) -> dg.MaterializeResult:
    from e3.video.youtube_upload import channel_connected, upload_job

    key = context.partition_key
    if not channel_connected(catalog.engine, key):
        context.log.info(f"{key}: the channel is not connected to YouTube; the job stays ready_for_export")
        return dg.MaterializeResult(metadata={"uploaded": False,
                                              "reason": "channel not connected (`e3 channel connect NAME`)"})
    try:
        video_id = upload_job(catalog.engine, key, log=lambda m: context.log.info(m))
    except E3Error as exc:
        raise dg.Failure(description=f"{key}: {exc}", allow_retries=False) from exc
    return dg.MaterializeResult(metadata={"uploaded": True, "youtube_video_id": video_id,
                                          "url": dg.MetadataValue.url(f"https://youtu.be/{video_id}")})


channel_assets = [video_plan, music_tracks, background_images, channel_video, export_package, youtube_upload]
