"""The channel studio's steps for one video job, without Dagster (the channel assets call them).

plan_job -> make_music -> make_backgrounds_for_job -> render_job -> export_job

Each writes the job's files under its ``output_directory`` (temporary name, then rename, so a
rerun reuses what is finished) and its catalog rows (the plan and the video's path are stored on
the ``video_jobs`` row); moving the job into each stage, and to ``failed`` on an error, is the
caller's (``e3_assets.studio.assets.job_stage``). Lengths follow ``E3_VIDEO_SECONDS_PER_MINUTE`` and the
size ``E3_VIDEO_SIZE`` (``e3.studio.studio_scale``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from e3.catalog.models import AudioTrack, Image, RenderTask, VideoJob
from e3.errors import E3Error
from e3.fsutil import atomic_path, atomic_write_json, remove_stale_parts, sha256_text
from e3.media.loudness import YOUTUBE
from e3.studio import CROSSFADE_SECONDS as AUDIO_CROSSFADE_S
from e3.studio import StudioError

PICTURE_CROSSFADE_S = 1.0
BACKGROUND_NEGATIVE = "text, watermark, logo, people, faces, blurry, low quality"
YOUTUBE_LUFS = YOUTUBE[0]  # one YouTube target for every video

Log = Callable[[str], None]


def _quiet(_message: str) -> None:
    pass


def job_folder(job: VideoJob, *parts: str) -> Path:
    """The job's output folder (or a folder in it), created."""
    path = Path(job.output_directory, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def render_sidecar(job: VideoJob) -> Path:
    """What the rendered video holds: inputs hash, chapters, tracks (channel_video -> export_package)."""
    return Path(job.output_directory) / "video.json"


def job_seed(job: VideoJob, salt: str = "") -> int:
    return int(sha256_text(str(job.id), salt)[:8], 16)


def scaled_crossfade(seconds: float) -> float:
    from e3.studio import studio_scale

    return round(seconds * studio_scale().seconds_per_minute / 60.0, 3)


def stored_plan(job: VideoJob) -> dict:
    if not job.prompts_json:
        raise StudioError(f"{job.partition_key}: no plan in prompts_json; materialize video_plan first")
    plan = job.prompts_json
    return json.loads(plan) if isinstance(plan, str) else plan


# ------------------------------------------------------------------------------------- plan

def normalize_plan(plan: dict, job: VideoJob) -> dict:
    """The plan checked by ``e3.video.plan.validate_plan`` (20 unique music and visual prompts,
    lengths that add up to the target, crossfades added). Track lengths are E3's to fix: when
    only they are wrong, the studio's own split replaces them; a prompt problem is the plan's."""
    from e3.studio import track_minutes
    from e3.video.plan import PlanError, validate_plan

    target = job.target_duration_minutes
    try:
        return validate_plan(plan, target)
    except PlanError as first:
        music = [dict(p) for p in sorted(plan.get("music_prompts") or [], key=lambda p: p.get("order_index", 0))
                 if isinstance(p, dict)]
        for p, m in zip(music, track_minutes(target, seed=job_seed(job, "durations"))):
            p["duration_minutes"] = m
        try:
            return validate_plan({**plan, "music_prompts": music}, target)
        except PlanError:
            raise StudioError(str(first)) from None


LLM_SYSTEM = (
    "You plan a 'curated album' video for a background-music YouTube channel. Reply with one JSON object: "
    '{"music_prompts": [{"order_index": 1, "title": "...", "prompt": "...", "duration_minutes": 3.5}, ...], '
    '"visual_prompts": [{"order_index": 1, "prompt": "..."}, ...]} with exactly 20 of each, order_index 1-20. '
    "Music prompts name instruments, tempo (BPM), key and mood, and are all different; titles are 2-5 words. "
    "Visual prompts describe a 16:9 background scene without text or people, all different. Track lengths are "
    "3 to 4.5 minutes and add up to the target."
)


def llm_plan(client, job: VideoJob) -> dict:
    def validate(data):
        if not isinstance(data, dict):
            raise ValueError("the reply must be a JSON object")
        return normalize_plan(data, job)  # StudioError (an E3Error) tells the model what to fix

    user = (f"Niche: {job.niche_label}\nMood: {job.mood_keywords}\n"
            f"Target: {job.target_duration_minutes} minutes in 20 tracks.")
    return client.complete_json(LLM_SYSTEM, user, validate=validate)


@dataclass
class PlanOutcome:
    plan: dict
    source: str  # kept, llm or offline

    @property
    def data_version(self) -> str:
        return sha256_text(json.dumps(self.plan, sort_keys=True))[:16]


def plan_job(engine: sa.Engine, job: VideoJob, client=None, *, warn: Log = _quiet) -> PlanOutcome:
    """Keep the job's valid plan, else plan it with ``client`` (an LLM) or the offline planner;
    the plan is stored in ``video_jobs.prompts_json`` and the job stays ``planned``."""
    from e3 import studio
    from e3.video.plan import plan_channel_video

    key = job.partition_key
    outcome = None
    if job.prompts_json:
        try:
            outcome = PlanOutcome(normalize_plan(stored_plan(job), job), "kept")
        except E3Error as exc:
            warn(f"{key}: stored plan unusable ({exc}); planning again")
    if outcome is None and client is not None:
        try:
            outcome = PlanOutcome(normalize_plan(llm_plan(client, job), job), "llm")
        except E3Error as exc:  # the offline planner still makes a good plan
            warn(f"{key}: LLM planning failed ({exc}); using the offline planner")
    if outcome is None:
        plan = plan_channel_video(job.niche_label, job.mood_keywords, job.target_duration_minutes,
                                  seed=job_seed(job, "plan"))
        outcome = PlanOutcome(normalize_plan(plan, job), "offline")
    studio.move(engine, key, "planned", prompts_json=outcome.plan)
    return outcome


# ------------------------------------------------------------------------------------- music

def _synthesize(prompt: str, seconds: float, out: str, seed: int) -> float:
    """Process-pool worker: one dummy-provider track, written atomically; returns its length."""
    from e3.video.music import synthesize_track

    with atomic_path(Path(out)) as tmp:
        info = synthesize_track(prompt, seconds, tmp, sample_rate=48000, seed=seed)
    return float(getattr(info, "duration", None) or getattr(info, "duration_s", None) or seconds)


def synthesize_all(todo: list[dict], log: Log = _quiet) -> None:
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
            log(f"{n}/{len(todo)} tracks synthesized")


def comfyui_music(engine: sa.Engine, comfyui, job: VideoJob, todo: list[dict], log: Log = _quiet) -> None:
    """ACE-Step tracks through the ``comfyui_jobs`` queue; ``comfyui`` gives the server settings."""
    from e3.config import settings
    from e3.comfyui.tasks import ComfyTask, run_comfyui_tasks

    workflow = settings().music_workflow
    tasks = [ComfyTask(key=f"{job.partition_key}:music:{s['out'].stem}", workflow=workflow,
                       params={"prompt": s["prompt"], "duration": s["seconds"], "seed": s["seed"],
                               "lyrics": "[Instrumental]"},
                       out=s["out"], job_type="audio", priority=50) for s in todo]
    run_comfyui_tasks(tasks, engine=engine, comfyui_url=comfyui.resolved_url(),
                      external_workers=comfyui.uses_external_workers(), log=log)


@dataclass
class MusicOutcome:
    folder: Path
    provider: str
    specs: list[dict]
    made_now: int
    seconds: float = 0.0

    @property
    def total_seconds(self) -> float:
        return round(sum(s["seconds"] for s in self.specs), 2)

    @property
    def data_version(self) -> str:
        return sha256_text(*(s["out"].name for s in self.specs))[:16]


def remove_orphans(folder: Path, pattern: str, keep: set[str]) -> int:
    """Files of ``pattern`` in ``folder`` that the job no longer uses (an edited plan)."""
    gone = 0
    for orphan in folder.glob(pattern):
        if orphan.name not in keep:
            orphan.unlink(missing_ok=True)
            gone += 1
    return gone


def make_music(engine: sa.Engine, job: VideoJob, provider: str, comfyui, *, log: Log = _quiet) -> MusicOutcome:
    """The plan's 20 tracks by ``provider`` (dummy, comfyui, beatoven, mubert), named by what they
    depend on so a rerun makes only what is missing; one ``audio_tracks`` row each."""
    from e3.media.ffmpeg import probe_duration
    from e3.providers.music import generate_tracks, track_record
    from e3.studio import studio_scale

    started = time.monotonic()
    scale = studio_scale()
    folder = job_folder(job, "music")
    remove_stale_parts(folder)
    specs = []
    for p in stored_plan(job)["music_prompts"]:
        i = int(p["order_index"])
        seconds = round(float(p["duration_minutes"]) * scale.seconds_per_minute, 2)
        seed = job_seed(job, f"track{i}")
        digest = sha256_text(p["prompt"], f"{seconds:.2f}", provider, str(seed))[:10]
        specs.append({"i": i, "prompt": p["prompt"], "seconds": seconds, "seed": seed,
                      "out": folder / f"track-{i:02d}-{digest}.flac", "title": p.get("title")})
    todo = [s for s in specs if not s["out"].is_file()]
    log(f"{job.partition_key}: {len(specs)} tracks ({provider}), {len(specs) - len(todo)} already made")
    if provider == "dummy":
        synthesize_all(todo, log)
    elif provider == "comfyui":
        comfyui_music(engine, comfyui, job, todo, log)
    else:  # beatoven, mubert: e3.providers.music
        generate_tracks(provider, todo, log=log)
    remove_orphans(folder, "track-*", {s["out"].name for s in specs})
    for spec in specs:
        # What the file really holds: a ComfyUI model may return a little more or less than asked.
        spec["seconds"] = round(probe_duration(spec["out"]), 2)
    with Session(engine) as s, s.begin():
        s.execute(sa.delete(AudioTrack).where(AudioTrack.video_job_id == job.id))
        for spec in specs:
            s.add(AudioTrack(video_job_id=job.id, provider=provider, order_index=spec["i"],
                             duration_seconds=spec["seconds"], **track_record(provider, spec["out"]),
                             local_file_path=str(spec["out"]), prompt_text=spec["prompt"]))
    return MusicOutcome(folder, provider, specs, len(todo), round(time.monotonic() - started, 2))


# ------------------------------------------------------------------------------------- images

@dataclass
class BackgroundsOutcome:
    folder: Path
    results: list
    size: str
    seconds: float

    @property
    def made_now(self) -> int:
        return sum(1 for r in self.results if not r.reused)

    @property
    def data_version(self) -> str:
        return sha256_text(*(r.path.name for r in self.results))[:16]


def make_backgrounds_for_job(engine: sa.Engine, job: VideoJob, comfyui, width: int, height: int, *,
                             log: Log = _quiet) -> BackgroundsOutcome:
    """The plan's 20 pictures through ``e3.providers.images`` (E3_IMAGE_PROVIDER, else ComfyUI
    when configured, else the painter); ``images`` rows whose order_index matches the tracks."""
    from e3.pictures.generate import ImageRequest
    from e3.providers.images import image_source, make_backgrounds, provider_image_id

    started = time.monotonic()
    plan = stored_plan(job)
    source = image_source(comfyui)
    folder = job_folder(job, "images")
    remove_stale_parts(folder)
    requests = []
    for p in plan["visual_prompts"]:
        i = int(p["order_index"])
        digest = sha256_text(p["prompt"], BACKGROUND_NEGATIVE, f"{width}x{height}", source)[:10]
        requests.append(ImageRequest(key=f"{job.partition_key}:bg:{i:02d}:{digest}", prompt=p["prompt"],
                                     negative=BACKGROUND_NEGATIVE, out=folder / f"bg-{i:02d}-{digest}.png",
                                     width=width, height=height, seed=job_seed(job, f"image{i}")))
    results = make_backgrounds(requests, comfyui=comfyui, engine=engine, log=log)
    remove_orphans(folder, "bg-*.png", {r.path.name for r in results})
    with Session(engine) as s, s.begin():
        s.execute(sa.delete(Image).where(Image.video_job_id == job.id))
        for p, r in zip(plan["visual_prompts"], results):
            s.add(Image(video_job_id=job.id, provider=r.provider, provider_image_id=provider_image_id(r),
                        order_index=int(p["order_index"]), local_file_path=str(r.path),
                        prompt_text=r.request.prompt))
    return BackgroundsOutcome(folder, results, f"{width}x{height}", round(time.monotonic() - started, 2))


# ------------------------------------------------------------------------------------- render

def job_slides(engine: sa.Engine, job: VideoJob) -> tuple[list, list[dict]]:
    """(Slides, track facts) pairing image i with track i; bad counts or gaps are errors."""
    from e3.studio import TRACKS, track_title
    from e3.video.render import Slide

    with Session(engine) as s:
        tracks = list(s.scalars(sa.select(AudioTrack).where(AudioTrack.video_job_id == job.id)
                                .order_by(AudioTrack.order_index)))
        images = list(s.scalars(sa.select(Image).where(Image.video_job_id == job.id).order_by(Image.order_index)))
    if len(tracks) != len(images) or len(tracks) != TRACKS:
        raise StudioError(f"{len(images)} images but {len(tracks)} tracks; a video needs {TRACKS} of each")
    if [t.order_index for t in tracks] != [i.order_index for i in images]:
        raise StudioError("the images' order_index values do not match the tracks'")
    titles = {int(p["order_index"]): p.get("title") for p in stored_plan(job).get("music_prompts", [])}
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


@dataclass
class RenderOutcome:
    path: Path
    info: dict  # the render sidecar: inputs_hash, duration, size_bytes, chapters, resolution, tracks
    reused: bool
    seconds: float = 0.0


def _render_task(engine: sa.Engine, task_id, **values) -> None:
    with Session(engine) as s, s.begin():
        task = s.get(RenderTask, task_id)
        for name, value in values.items():
            setattr(task, name, value)


def render_job(engine: sa.Engine, job: VideoJob, render_kwargs: dict, *,
               progress: Callable[[float, str], None] | None = None, log: Log = _quiet) -> RenderOutcome:
    """Picture i over track i with crossfades and one chapter per track, unless the sidecar says
    the same inputs made the file already; a ``render_tasks`` row holds the exact ffmpeg commands
    (failed with the reason when the render fails). Sets ``video_jobs.local_video_path``."""
    from e3 import studio
    from e3.video.render import render_video

    started = time.monotonic()
    key = job.partition_key
    slides, facts = job_slides(engine, job)
    audio_xf, picture_xf = scaled_crossfade(AUDIO_CROSSFADE_S), scaled_crossfade(PICTURE_CROSSFADE_S)
    out = job_folder(job) / f"{key}.mp4"
    sidecar = render_sidecar(job)
    resolution = f"{render_kwargs['width']}x{render_kwargs['height']}"
    inputs_hash = sha256_text(*_fingerprint([s.image for s in slides] + [s.audio for s in slides]),
                              *(s.title for s in slides), json.dumps(render_kwargs, sort_keys=True),
                              str(YOUTUBE_LUFS), str(audio_xf), str(picture_xf))
    previous = json.loads(sidecar.read_text()) if sidecar.is_file() else None
    if out.is_file() and previous and previous.get("inputs_hash") == inputs_hash:
        log(f"{key}: {out.name} is up to date, not rendered again")
        studio.move(engine, key, "rendering", local_video_path=str(out))
        return RenderOutcome(out, previous, True, round(time.monotonic() - started, 2))
    with Session(engine) as s, s.begin():
        task = RenderTask(video_job_id=job.id, status="in_progress", resolution=resolution,
                          ffmpeg_command=f"render_video: {len(slides)} slides -> {out}", local_video_path=str(out))
        s.add(task)
        s.flush()
        task_id = task.id
    try:
        result = render_video(slides, out, loudness_target=YOUTUBE_LUFS, audio_crossfade=audio_xf,
                              crossfade=picture_xf, progress=progress, **render_kwargs)
    except BaseException as exc:  # the render failed: its task fails with the same reason
        reason = getattr(exc, "description", None) or str(exc) or exc.__class__.__name__
        _render_task(engine, task_id, status="failed", error_message=reason[:4000],
                     completed_at=dt.datetime.now(dt.timezone.utc))
        raise
    info = {"inputs_hash": inputs_hash, "path": str(out), "duration": result.duration,
            "size_bytes": result.size_bytes, "chapters": result.chapters, "resolution": resolution,
            "tracks": facts, "video": result.video_codec_info}
    atomic_write_json(sidecar, info)
    _render_task(engine, task_id, ffmpeg_command="\n".join(shlex.join(c) for c in result.ffmpeg_commands),
                 status="completed", duration_seconds=round(result.duration, 2),
                 completed_at=dt.datetime.now(dt.timezone.utc))
    studio.move(engine, key, "rendering", local_video_path=str(out))
    return RenderOutcome(out, info, False, round(time.monotonic() - started, 2))


# ------------------------------------------------------------------------------------- export

def chapter_groups(chapters: list[dict], minimum: float = 10.0) -> tuple[list[str], list[float]]:
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


def video_tags(job: VideoJob) -> list[str]:
    words = [w.strip() for w in job.mood_keywords.split(",") if w.strip()]
    tags = [job.niche_label, *words, f"{words[0]} music" if words else "ambient music", "background music",
            "relaxing music", "study music", f"{job.target_duration_minutes} minutes"]
    seen, out = set(), []
    for t in tags:
        if t.lower() not in seen:
            seen.add(t.lower())
            out.append(t)
    return out


@dataclass
class ExportOutcome:
    folder: Path
    title: str
    description: str
    tags: list[str]
    tracklist: str
    files: list[str] = field(default_factory=list)

    @property
    def thumbnail(self) -> Path | None:
        found = sorted(self.folder.glob("thumbnail.*"))
        return found[0] if found else None

    @property
    def data_version(self) -> str:
        return sha256_text(self.title, self.description, *self.tags)[:16]


def export_job(engine: sa.Engine, job: VideoJob) -> ExportOutcome:
    """A YouTube-ready folder (``<output_directory>/export/``): title, description with a
    timestamped tracklist from 00:00, tags, a 1280x720 thumbnail under 2 MB and the video."""
    from e3.video import youtube

    key = job.partition_key
    sidecar = render_sidecar(job)
    video = Path(job.local_video_path or "")
    if not job.local_video_path or not video.is_file() or not sidecar.is_file():
        raise StudioError(f"{key}: no rendered video; materialize channel_video first")
    info = json.loads(sidecar.read_text(encoding="utf-8"))
    titles, lengths = chapter_groups(info["chapters"])
    tracklist = youtube.tracklist(titles, lengths)
    mood = ", ".join(w.strip().title() for w in job.mood_keywords.split(",") if w.strip())
    title = f"{job.niche_label} | {mood} | {job.target_duration_minutes} Minutes"
    if len(title) > 100:
        title = f"{job.niche_label[:80]} | {job.target_duration_minutes} Minutes"[:100]
    tags = video_tags(job)
    intro = (f"{job.target_duration_minutes} minutes of {job.mood_keywords} music for "
             f"{job.niche_label.lower()}: 20 original tracks, each with its own picture.")
    description = youtube.description(title, tracklist, intro=intro,
                                      credits="Music and pictures generated by E3.", tags=tags)
    with Session(engine) as s:
        first = s.scalar(sa.select(Image.local_file_path).where(Image.video_job_id == job.id)
                         .order_by(Image.order_index).limit(1))
    if not first or not Path(first).is_file():
        raise StudioError(f"{key}: no background picture for the thumbnail")
    folder = job_folder(job, "export")
    meta = youtube.export_package(folder, title=title, description=description, tags=tags,
                                  tracklist=tracklist, thumbnail_src=Path(first), video_path=video)
    return ExportOutcome(folder, title, description, tags, tracklist, list(meta["files"]))
