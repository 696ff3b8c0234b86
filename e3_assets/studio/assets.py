"""The channel studio's assets, partitioned by video job (dynamic partition set ``video_jobs``).

video_plan -> music_tracks -> background_images -> channel_video -> export_package

Each step moves ``video_jobs.status`` along the documented flow and writes its rows; any failure
sets ``failed`` with the reason in ``error_message`` (and fails the render task). Files go to the
job's ``output_directory`` (``<foundry>/_video_jobs/<key>``), each written under a temporary name
and renamed, so a rerun reuses what is finished. Durations and size follow ``E3_VIDEO_SECONDS_PER_MINUTE``
and ``E3_VIDEO_SIZE`` (see ``e3.studio``).
"""

import contextlib
import datetime as dt
import json
import os
import shlex
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from e3.media.ffmpeg import probe_duration
import sqlalchemy as sa

from e3.catalog.models import AudioTrack, Image, RenderTask, VideoJob
from e3.errors import E3Error
from e3.fsutil import atomic_path, remove_stale_parts, sha256_text
from e3.media.thumbs import thumbnails_markdown
from e3.studio import CROSSFADE_SECONDS as AUDIO_CROSSFADE_S
from e3.video.book import YOUTUBE_LUFS  # one YouTube target for every video  # scaled with E3_VIDEO_SECONDS_PER_MINUTE
from e3_assets.common import TRANSIENT_RETRY, human_duration, human_size
from e3_assets.partitions import video_jobs_partitions
from e3_resources.catalog import CatalogResource
from e3_resources.comfyui import ComfyUIResource
from e3_resources.ffmpeg import FFmpegResource
from e3_resources.foundry import FoundryResource
from e3_resources.llm import LLMResource

PICTURE_CROSSFADE_S = 1.0
MUSIC_WORKFLOW = "ace_step_music"
RENDER_SIDECAR = "video.json"


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


def _out_dir(job: VideoJob) -> Path:
    path = Path(job.output_directory)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _seed(job: VideoJob, salt: str = "") -> int:
    return int(sha256_text(str(job.id), salt)[:8], 16)


def _scaled_crossfade(seconds: float) -> float:
    from e3.studio import studio_scale

    return round(seconds * studio_scale().seconds_per_minute / 60.0, 3)


def _plan(job: VideoJob) -> dict:
    if not job.prompts_json:
        raise dg.Failure(f"{job.partition_key}: no plan in prompts_json; materialize video_plan first",
                         allow_retries=False)
    plan = job.prompts_json
    return json.loads(plan) if isinstance(plan, str) else plan


# ------------------------------------------------------------------------------------- plan

def _normalize_plan(plan: dict, job: VideoJob) -> dict:
    """The plan checked by ``e3.video.plan.validate_plan`` (20 unique music and visual prompts,
    lengths that add up to the target, crossfades added). Track lengths are E3's to fix: when
    only they are wrong, the studio's own split replaces them; a prompt problem is the plan's."""
    from e3.studio import StudioError, track_minutes
    from e3.video.plan import PlanError, validate_plan

    target = job.target_duration_minutes
    try:
        return validate_plan(plan, target)
    except PlanError as first:
        music = [dict(p) for p in sorted(plan.get("music_prompts") or [], key=lambda p: p.get("order_index", 0))
                 if isinstance(p, dict)]
        for p, m in zip(music, track_minutes(target, seed=_seed(job, "durations"))):
            p["duration_minutes"] = m
        try:
            return validate_plan({**plan, "music_prompts": music}, target)
        except PlanError:
            raise StudioError(str(first)) from None


@dg.asset(
    partitions_def=video_jobs_partitions,
    group_name="channel",
    kinds={"python", "json"},
    retry_policy=TRANSIENT_RETRY,
    description="20 unique music prompts and 20 unique visual prompts with track lengths adding up to the "
                "target (video_jobs.prompts_json), from the LLM when one is configured, else the offline "
                "planner. The job stays `planned`; a rerun keeps a valid plan.",
)
def video_plan(context: dg.AssetExecutionContext, catalog: CatalogResource, llm: LLMResource) -> dg.MaterializeResult:
    from e3 import studio

    key = context.partition_key
    with job_stage(catalog, key, "planned") as job:
        source = "kept"
        plan = None
        if job.prompts_json:
            try:
                plan = _normalize_plan(_plan(job), job)
            except E3Error as exc:
                context.log.warning(f"{key}: stored plan unusable ({exc}); planning again")
        if plan is None:
            plan, source = _make_plan(context, job, llm)
            plan = _normalize_plan(plan, job)
        studio.move(catalog.engine, key, "planned", prompts_json=plan)
    music = plan["music_prompts"]
    return dg.MaterializeResult(
        metadata={
            "source": source,
            "tracks": len(music),
            "target_minutes": job.target_duration_minutes,
            "first_prompts": dg.MetadataValue.md("\n".join(f"- {p['prompt']}" for p in music[:5])),
        },
        data_version=dg.DataVersion(sha256_text(json.dumps(plan, sort_keys=True))[:16]),
    )


LLM_SYSTEM = (
    "You plan a 'curated album' video for a background-music YouTube channel. Reply with one JSON object: "
    '{"music_prompts": [{"order_index": 1, "title": "...", "prompt": "...", "duration_minutes": 3.5}, ...], '
    '"visual_prompts": [{"order_index": 1, "prompt": "..."}, ...]} with exactly 20 of each, order_index 1-20. '
    "Music prompts name instruments, tempo (BPM), key and mood, and are all different; titles are 2-5 words. "
    "Visual prompts describe a 16:9 background scene without text or people, all different. Track lengths are "
    "3 to 4.5 minutes and add up to the target."
)


def _llm_plan(client, job: VideoJob) -> dict:
    def validate(data):
        if not isinstance(data, dict):
            raise ValueError("the reply must be a JSON object")
        return _normalize_plan(data, job)  # StudioError (an E3Error) tells the model what to fix

    user = (f"Niche: {job.niche_label}\nMood: {job.mood_keywords}\n"
            f"Target: {job.target_duration_minutes} minutes in 20 tracks.")
    return client.complete_json(LLM_SYSTEM, user, validate=validate)


def _make_plan(context, job: VideoJob, llm: LLMResource) -> tuple[dict, str]:
    if llm.available():
        try:
            return _llm_plan(llm.client(), job), "llm"
        except E3Error as exc:  # the offline planner still makes a good plan
            context.log.warning(f"{job.partition_key}: LLM planning failed ({exc}); using the offline planner")
    from e3.video.plan import plan_channel_video

    plan = plan_channel_video(job.niche_label, job.mood_keywords, job.target_duration_minutes,
                              seed=_seed(job, "plan"))
    return plan, "offline"


# ------------------------------------------------------------------------------------- music

def _synthesize(prompt: str, seconds: float, out: str, seed: int) -> float:
    """Process-pool worker: one dummy-provider track, written atomically; returns its length."""
    from e3.video.music import synthesize_track

    with atomic_path(Path(out)) as tmp:
        info = synthesize_track(prompt, seconds, tmp, sample_rate=48000, seed=seed)
    return float(getattr(info, "duration", None) or getattr(info, "duration_s", None) or seconds)


def _music_provider() -> str:
    from e3.providers import music_provider_name

    return music_provider_name()  # dummy, comfyui, beatoven or mubert


@dg.asset(
    partitions_def=video_jobs_partitions,
    deps=[video_plan],
    group_name="channel",
    kinds={"python", "flac"},
    pool="tts",  # the CPU-bound synthesis pool, shared with narration: both use every core
    retry_policy=TRANSIENT_RETRY,
    description="20 tracks of 3-4.5 minutes adding up to the target (audio_tracks rows, status "
                "generating_music): the built-in synthesizer (provider dummy, on every core) or ACE-Step "
                "on ComfyUI (E3_MUSIC_PROVIDER=comfyui), or Beatoven / Mubert (beatoven, mubert: "
                "e3.providers.music). A rerun reuses finished tracks and never pays twice.",
)
def music_tracks(context: dg.AssetExecutionContext, catalog: CatalogResource,
                 comfyui: ComfyUIResource) -> dg.MaterializeResult:
    from e3.studio import studio_scale

    key = context.partition_key
    started = time.monotonic()
    with job_stage(catalog, key, "generating_music") as job:
        plan = _plan(job)
        scale = studio_scale()
        provider = _music_provider()
        folder = _out_dir(job) / "music"
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(folder)
        specs = []
        for p in plan["music_prompts"]:
            i = int(p["order_index"])
            seconds = round(float(p["duration_minutes"]) * scale.seconds_per_minute, 2)
            seed = _seed(job, f"track{i}")
            digest = sha256_text(p["prompt"], f"{seconds:.2f}", provider, str(seed))[:10]
            specs.append({"i": i, "prompt": p["prompt"], "seconds": seconds, "seed": seed,
                          "out": folder / f"track-{i:02d}-{digest}.flac", "title": p.get("title")})
        todo = [s for s in specs if not s["out"].is_file()]
        context.log.info(f"{key}: {len(specs)} tracks ({provider}), {len(specs) - len(todo)} already made")
        if provider == "dummy":
            _synthesize_all(context, todo)
        elif provider == "comfyui":
            _comfyui_music(context, catalog, comfyui, job, todo)
        else:  # beatoven, mubert: e3.providers.music
            from e3.providers.music import generate_tracks

            generate_tracks(provider, todo, log=context.log.info)
        keep = {s["out"].name for s in specs}
        for orphan in folder.glob("track-*"):
            if orphan.name not in keep:
                orphan.unlink(missing_ok=True)
        for spec in specs:
            # What the file really holds: a ComfyUI model may return a little more or less than asked.
            spec["seconds"] = round(probe_duration(spec["out"]), 2)
        from e3.providers.music import track_record

        with catalog.session() as s, s.begin():
            s.execute(sa.delete(AudioTrack).where(AudioTrack.video_job_id == job.id))
            for spec in specs:
                s.add(AudioTrack(video_job_id=job.id, provider=provider, order_index=spec["i"],
                                 duration_seconds=spec["seconds"], **track_record(provider, spec["out"]),
                                 local_file_path=str(spec["out"]), prompt_text=spec["prompt"]))
    total = sum(s["seconds"] for s in specs)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(folder)),
            "provider": provider,
            "tracks": len(specs),
            "made_now": len(todo),
            "reused": len(specs) - len(todo),
            "total_seconds": round(total, 2),
            "wall_seconds": round(time.monotonic() - started, 2),
        },
        data_version=dg.DataVersion(sha256_text(*(s["out"].name for s in specs))[:16]),
    )


def _synthesize_all(context, todo: list[dict]) -> None:
    """The synth is pure numpy in one thread: a process per core makes 20 tracks ~2x faster."""
    if not todo:
        return
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    workers = max(1, min(len(todo), os.cpu_count() or 1))
    if workers == 1:
        for s in todo:
            _synthesize(s["prompt"], s["seconds"], str(s["out"]), s["seed"])
        return
    # spawn: the run process has threads (Dagster, SQLAlchemy); forking it is not safe.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_synthesize, s["prompt"], s["seconds"], str(s["out"]), s["seed"]) for s in todo]
        for n, f in enumerate(futures, 1):
            f.result()
            context.log.info(f"{n}/{len(todo)} tracks synthesized")


def _comfyui_music(context, catalog: CatalogResource, comfyui: ComfyUIResource, job: VideoJob,
                   todo: list[dict]) -> None:
    from e3.config import getenv
    from e3.pictures.generate import ComfyTask, run_comfyui_tasks

    workflow = getenv("E3_MUSIC_WORKFLOW", MUSIC_WORKFLOW) or MUSIC_WORKFLOW
    tasks = [ComfyTask(key=f"{job.partition_key}:music:{s['out'].stem}", workflow=workflow,
                       params={"prompt": s["prompt"], "duration": s["seconds"], "seed": s["seed"],
                               "lyrics": "[Instrumental]"},
                       out=s["out"], job_type="audio", priority=50) for s in todo]
    run_comfyui_tasks(tasks, engine=catalog.engine, comfyui_url=comfyui.resolved_url(),
                      external_workers=comfyui.uses_external_workers(), log=context.log.info)


# ------------------------------------------------------------------------------------- images

@dg.asset(
    partitions_def=video_jobs_partitions,
    deps=[music_tracks],
    group_name="channel",
    kinds={"python", "png"},
    pool="comfyui",
    retry_policy=TRANSIENT_RETRY,
    description="20 background pictures (1920x1080, or E3_VIDEO_SIZE) through ComfyUI or the offline "
                "painter, or Leonardo / Gemini (E3_IMAGE_PROVIDER); `images` rows whose order_index matches "
                "the tracks (status generating_image).",
)
def background_images(context: dg.AssetExecutionContext, catalog: CatalogResource, comfyui: ComfyUIResource,
                      ffmpeg: FFmpegResource) -> dg.MaterializeResult:
    from e3.pictures.generate import ImageRequest

    key = context.partition_key
    started = time.monotonic()
    with job_stage(catalog, key, "generating_image") as job:
        plan = _plan(job)
        width, height = ffmpeg.dimensions()
        from e3.providers.images import image_source, make_backgrounds, provider_image_id

        source = image_source(comfyui)  # E3_IMAGE_PROVIDER, else ComfyUI when configured, else the painter
        folder = _out_dir(job) / "images"
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(folder)
        negative = "text, watermark, logo, people, faces, blurry, low quality"
        requests = []
        for p in plan["visual_prompts"]:
            i = int(p["order_index"])
            digest = sha256_text(p["prompt"], negative, f"{width}x{height}", source)[:10]
            requests.append(ImageRequest(key=f"{key}:bg:{i:02d}:{digest}", prompt=p["prompt"], negative=negative,
                                         out=folder / f"bg-{i:02d}-{digest}.png", width=width, height=height,
                                         seed=_seed(job, f"image{i}")))
        results = make_backgrounds(requests, comfyui=comfyui, engine=catalog.engine, log=context.log.info)
        keep = {r.path.name for r in results}
        for orphan in folder.glob("bg-*.png"):
            if orphan.name not in keep:
                orphan.unlink(missing_ok=True)
        with catalog.session() as s, s.begin():
            s.execute(sa.delete(Image).where(Image.video_job_id == job.id))
            for p, r in zip(plan["visual_prompts"], results):
                s.add(Image(video_job_id=job.id, provider=r.provider, provider_image_id=provider_image_id(r),
                            order_index=int(p["order_index"]), local_file_path=str(r.path),
                            prompt_text=r.request.prompt))
    made = sum(1 for r in results if not r.reused)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(folder)),
            "preview": dg.MetadataValue.md(thumbnails_markdown([r.path for r in results[:4]]) or "_none_"),
            "provider": ", ".join(sorted({r.provider for r in results})),
            "images": len(results),
            "made_now": made,
            "reused": len(results) - made,
            "size": f"{width}x{height}",
            "wall_seconds": round(time.monotonic() - started, 2),
        },
        data_version=dg.DataVersion(sha256_text(*(r.path.name for r in results))[:16]),
    )


# ------------------------------------------------------------------------------------- render

def _slides(job: VideoJob, catalog: CatalogResource) -> tuple[list, list[dict]]:
    """(Slides, track facts) pairing image i with track i; bad counts or gaps are errors."""
    from e3.studio import TRACKS, StudioError, track_title
    from e3.video.render import Slide

    with catalog.session() as s:
        tracks = list(s.scalars(sa.select(AudioTrack).where(AudioTrack.video_job_id == job.id)
                                .order_by(AudioTrack.order_index)))
        images = list(s.scalars(sa.select(Image).where(Image.video_job_id == job.id).order_by(Image.order_index)))
    if len(tracks) != len(images) or len(tracks) != TRACKS:
        raise StudioError(f"{len(images)} images but {len(tracks)} tracks; a video needs {TRACKS} of each")
    if [t.order_index for t in tracks] != [i.order_index for i in images]:
        raise StudioError("the images' order_index values do not match the tracks'")
    titles = {int(p["order_index"]): p.get("title") for p in _plan(job).get("music_prompts", [])}
    slides, facts = [], []
    for t, im in zip(tracks, images):
        title = titles.get(t.order_index) or track_title(t.prompt_text, t.order_index)
        slides.append(Slide(image=Path(im.local_file_path), audio=Path(t.local_file_path), title=title))
        facts.append({"order_index": t.order_index, "title": title, "seconds": float(t.duration_seconds)})
    return slides, facts


def _fingerprint(paths: list[Path]) -> list[str]:
    out = []
    for p in paths:
        st = p.stat() if p.is_file() else None
        out.append(f"{p.name}:{st.st_size if st else 0}:{st.st_mtime_ns if st else 0}")
    return out


@dg.asset(
    partitions_def=video_jobs_partitions,
    deps=[background_images],
    group_name="channel",
    kinds={"ffmpeg", "mp4"},
    pool="ffmpeg",
    retry_policy=TRANSIENT_RETRY,
    description="The MP4 (status rendering): picture i over track i, crossfades, 20 chapters named after the "
                "tracks, audio at -14 LUFS; a render_tasks row with the exact ffmpeg commands. Sets "
                "video_jobs.local_video_path; a rerun with unchanged inputs does not render again.",
)
def channel_video(context: dg.AssetExecutionContext, catalog: CatalogResource,
                  ffmpeg: FFmpegResource) -> dg.MaterializeResult:
    from e3 import studio
    from e3.video.render import render_video

    key = context.partition_key
    started = time.monotonic()
    task_id = None
    try:
        with job_stage(catalog, key, "rendering") as job:
            slides, facts = _slides(job, catalog)
            kwargs = ffmpeg.render_kwargs()
            audio_xf, picture_xf = _scaled_crossfade(AUDIO_CROSSFADE_S), _scaled_crossfade(PICTURE_CROSSFADE_S)
            out = _out_dir(job) / f"{key}.mp4"
            sidecar = out.parent / RENDER_SIDECAR
            resolution = f"{kwargs['width']}x{kwargs['height']}"
            inputs_hash = sha256_text(*_fingerprint([s.image for s in slides] + [s.audio for s in slides]),
                                      *(s.title for s in slides), json.dumps(kwargs, sort_keys=True),
                                      str(YOUTUBE_LUFS), str(audio_xf), str(picture_xf))
            previous = json.loads(sidecar.read_text()) if sidecar.is_file() else None
            if out.is_file() and previous and previous.get("inputs_hash") == inputs_hash:
                context.log.info(f"{key}: {out.name} is up to date, not rendered again")
                info = previous
            else:
                with catalog.session() as s, s.begin():
                    task = RenderTask(video_job_id=job.id, status="in_progress", resolution=resolution,
                                      ffmpeg_command=f"render_video: {len(slides)} slides -> {out}",
                                      local_video_path=str(out))
                    s.add(task)
                    s.flush()
                    task_id = task.id
                last = {"t": 0.0}

                def progress(fraction: float, message: str) -> None:
                    if time.monotonic() - last["t"] > 5 or fraction >= 1:
                        last["t"] = time.monotonic()
                        context.log.info(f"{key}: {fraction:.0%} ({message})")

                result = render_video(slides, out, loudness_target=YOUTUBE_LUFS, audio_crossfade=audio_xf,
                                      crossfade=picture_xf, progress=progress, **kwargs)
                commands = "\n".join(shlex.join(c) for c in result.ffmpeg_commands)
                info = {"inputs_hash": inputs_hash, "path": str(out), "duration": result.duration,
                        "size_bytes": result.size_bytes, "chapters": result.chapters, "resolution": resolution,
                        "tracks": facts, "video": result.video_codec_info}
                atomic_json(sidecar, info)
                with catalog.session() as s, s.begin():
                    task = s.get(RenderTask, task_id)
                    task.ffmpeg_command = commands
                    task.status = "completed"
                    task.duration_seconds = round(result.duration, 2)
                    task.completed_at = dt.datetime.now(dt.timezone.utc)
                task_id = None
            studio.move(catalog.engine, key, "rendering", local_video_path=str(out))
    except BaseException as exc:
        if task_id is not None:  # the render failed: its task fails with the same reason
            reason = getattr(exc, "description", None) or str(exc) or exc.__class__.__name__
            with catalog.session() as s, s.begin():
                task = s.get(RenderTask, task_id)
                task.status = "failed"
                task.error_message = reason[:4000]
                task.completed_at = dt.datetime.now(dt.timezone.utc)
        raise
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(out)),
            "duration_seconds": round(info["duration"], 2),
            "duration": human_duration(info["duration"]),
            "size_bytes": info["size_bytes"],
            "size": human_size(info["size_bytes"]),
            "chapters": len(info["chapters"]),
            "resolution": info["resolution"],
            "wall_seconds": round(time.monotonic() - started, 2),
        },
        data_version=dg.DataVersion(info["inputs_hash"][:16]),
    )


def atomic_json(path: Path, data: dict) -> None:
    from e3.fsutil import atomic_write_json

    atomic_write_json(path, data)


# ------------------------------------------------------------------------------------- export

def _chapter_groups(chapters: list[dict], minimum: float = 10.0) -> tuple[list[str], list[float]]:
    """Consecutive chapters joined until each lasts ``minimum`` seconds (YouTube's chapter rule).

    Real tracks last minutes, so nothing is joined; scaled test videos (seconds per track) still
    get a tracklist of several chapters instead of one.
    """
    groups: list[list] = []
    for c in chapters:
        length = float(c["end"]) - float(c["start"])
        if groups and groups[-1][1] < minimum:
            groups[-1][0].append(c["title"])
            groups[-1][1] += length
        else:
            groups.append([[c["title"]], length])
    if len(groups) > 1 and groups[-1][1] < minimum:
        titles, length = groups.pop()
        groups[-1][0] += titles
        groups[-1][1] += length
    return [" / ".join(t) for t, _ in groups], [d for _, d in groups]


def _tags(job: VideoJob) -> list[str]:
    words = [w.strip() for w in job.mood_keywords.split(",") if w.strip()]
    tags = [job.niche_label, *words, f"{words[0]} music" if words else "ambient music", "background music",
            "relaxing music", "study music", f"{job.target_duration_minutes} minutes"]
    seen, out = set(), []
    for t in tags:
        if t.lower() not in seen:
            seen.add(t.lower())
            out.append(t)
    return out


@dg.asset(
    partitions_def=video_jobs_partitions,
    deps=[channel_video],
    group_name="channel",
    kinds={"python", "youtube"},
    retry_policy=TRANSIENT_RETRY,
    description="A YouTube-ready folder (<output_directory>/export/): title, description with a timestamped "
                "tracklist from 00:00, tags, a 1280x720 thumbnail under 2 MB and the video. Sets "
                "ready_for_export; `e3 video complete KEY` marks the job completed after upload.",
)
def export_package(context: dg.AssetExecutionContext, catalog: CatalogResource) -> dg.MaterializeResult:
    from e3 import studio
    from e3.video import youtube

    key = context.partition_key
    with job_stage(catalog, key, None) as job:
        sidecar = _out_dir(job) / RENDER_SIDECAR
        video = Path(job.local_video_path or "")
        if not job.local_video_path or not video.is_file() or not sidecar.is_file():
            raise dg.Failure(f"{key}: no rendered video; materialize channel_video first", allow_retries=False)
        info = json.loads(sidecar.read_text(encoding="utf-8"))
        titles, lengths = _chapter_groups(info["chapters"])
        tracklist = youtube.tracklist(titles, lengths)
        mood = ", ".join(w.strip().title() for w in job.mood_keywords.split(",") if w.strip())
        title = f"{job.niche_label} | {mood} | {job.target_duration_minutes} Minutes"
        if len(title) > 100:
            title = f"{job.niche_label[:80]} | {job.target_duration_minutes} Minutes"[:100]
        tags = _tags(job)
        intro = (f"{job.target_duration_minutes} minutes of {job.mood_keywords} music for "
                 f"{job.niche_label.lower()}: 20 original tracks, each with its own picture.")
        description = youtube.description(title, tracklist, intro=intro,
                                          credits="Music and pictures generated by E3.", tags=tags)
        with catalog.session() as s:
            first = s.scalar(sa.select(Image.local_file_path).where(Image.video_job_id == job.id)
                             .order_by(Image.order_index).limit(1))
        if not first or not Path(first).is_file():
            raise E3Error(f"{key}: no background picture for the thumbnail")
        meta = youtube.export_package(_out_dir(job) / "export", title=title, description=description, tags=tags,
                                      tracklist=tracklist, thumbnail_src=Path(first), video_path=video)
        studio.move(catalog.engine, key, "ready_for_export")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(_out_dir(job) / "export")),
            "thumbnail": dg.MetadataValue.md(thumbnails_markdown(
                sorted((_out_dir(job) / "export").glob("thumbnail.*"))[:1], width=320) or "_none_"),
            "title": title,
            "tags": len(tags),
            "tracklist": dg.MetadataValue.md("```\n" + tracklist + "\n```"),
            "files": ", ".join(meta["files"]),
        },
        data_version=dg.DataVersion(sha256_text(title, description, *tags)[:16]),
    )


# ------------------------------------------------------------------------------------- upload

@dg.asset(
    partitions_def=video_jobs_partitions,
    deps=[export_package],
    group_name="channel",
    kinds={"youtube"},
    retry_policy=TRANSIENT_RETRY,
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
