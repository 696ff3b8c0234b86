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

import json
import shutil
import tempfile
import time
import wave
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from e3.catalog.models import Image
from e3.errors import E3Error
from e3.fsutil import atomic_path, atomic_write_json, sha256_file, sha256_text
from e3.video.book import MAX_HOLD_S, Mark, Still, clip_timeline, placements, scene_positions, slide_timeline
from e3_assets.common import TRANSIENT_RETRY, catalog_step, human_duration
from e3_assets.narration.assets import audiobook_m4b, subtitles
from e3_assets.partitions import books_partitions
from e3_resources.catalog import CatalogResource
from e3_resources.ffmpeg import FFmpegResource
from e3_resources.foundry import FoundryResource

try:  # the pictures domain may be absent in a partial checkout; depend on the key then
    from e3_assets.pictures.assets import illustrations as _illustrations
except ImportError:  # pragma: no cover
    _illustrations = dg.AssetKey("illustrations")

RATE = 48000
YOUTUBE_LUFS = -14.0


class BookVideoError(E3Error):
    """The book video cannot be made (missing narration, unreadable pictures ...)."""


# ------------------------------------------------------------------------------------- plain logic

def shift_srt(srt_text: str, start: float, end: float) -> str:
    """The cues inside [start, end), moved so ``start`` becomes 0 (for per-chapter videos)."""
    from e3.narration.subtitles import Cue, parse_srt, to_srt

    cues = []
    for c in parse_srt(srt_text):
        if c.end <= start or c.start >= end:
            continue
        cues.append(Cue(max(0.0, c.start - start), min(end, c.end) - start, c.lines))
    return to_srt(cues)


def _decode_pcm(m4b: Path, dst: Path) -> int:
    from e3.media.ffmpeg import run_ffmpeg

    run_ffmpeg(["-v", "error", "-y", "-i", str(m4b), "-vn", "-map", "0:a:0", "-ar", str(RATE), "-ac", "2",
                "-f", "s16le", "-c:a", "pcm_s16le", str(dst)], what=f"decoding {m4b.name}")
    return dst.stat().st_size // 4


def _cut_wav(raw: Path, a: int, b: int, dst: Path) -> None:
    """Samples [a, b) of a raw s16le stereo file as a WAV."""
    with open(raw, "rb") as src, wave.open(str(dst), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        src.seek(a * 4)
        left = (b - a) * 4
        while left > 0:
            block = src.read(min(left, 1 << 20))
            if not block:
                break
            w.writeframes(block)
            left -= len(block)


def render_book_video(out: Path, raw: Path, total: int, stills: list[Still], marks: list[Mark], start: float,
                      end: float, srt: Path | None, tags: dict, render_kwargs: dict, work: Path) -> dict:
    """Render [start, end) of the book: its stills over its narration, then write the chapter marks."""
    from e3.media.chapters import ChapterMark, ffmetadata
    from e3.media.ffmpeg import run_ffmpeg
    from e3.video.render import Slide, render_video

    a_end = min(total, round(end * RATE))
    inside = clip_timeline(stills, start, end)
    slides = []
    for i, st in enumerate(inside):
        a = round(st.start * RATE)
        b = round(st.end * RATE) if i + 1 < len(inside) else a_end
        piece = work / f"piece_{i:04d}.wav"
        _cut_wav(raw, a, b, piece)
        slides.append(Slide(image=st.image, audio=piece))
    rendered = work / "rendered.mp4"
    result = render_video(slides, rendered, chapters=False, loudness_target=YOUTUBE_LUFS, workdir=work,
                          **render_kwargs)
    chapter_marks = [ChapterMark(m.title, max(m.start, start) - start, min(m.end, end) - start)
                     for m in marks if m.end > start and m.start < end]
    meta = work / "chapters.txt"
    meta.write_text(ffmetadata(chapter_marks, tags), encoding="utf-8")
    args = ["-v", "error", "-y", "-i", str(rendered), "-f", "ffmetadata", "-i", str(meta)]
    maps = ["-map", "0:v:0", "-map", "0:a:0", "-map_metadata", "1", "-map_chapters", "1", "-c", "copy"]
    if srt is not None:
        # A millisecond subtitle timebase: with the default one, FFmpeg 9's mp4 muxer writes a
        # QuickTime chapter track that players read with the wrong titles and times.
        args += ["-i", str(srt)]
        maps += ["-map", "2:s:0", "-c:s", "mov_text", "-time_base:s", "1:1000"]
    with atomic_path(out) as tmp:
        run_ffmpeg(args + maps + ["-movflags", "+faststart", "-f", "mp4", str(tmp)],
                   what=f"writing chapters and subtitles into {out.name}")
    return {"path": str(out), "duration": result.duration, "size_bytes": out.stat().st_size,
            "chapters": len(chapter_marks), "slides": len(slides),
            "ffmpeg_commands": [" ".join(c) for c in result.ffmpeg_commands]}


# ------------------------------------------------------------------------------------- the asset

class BookVideoConfig(dg.Config):
    per_chapter: bool | None = Field(default=None, description="One video per chapter instead of one per "
                                                               "book; default E3_BOOK_VIDEO_PER_CHAPTER or false.")


def _read(path: Path, what: str) -> dict:
    if not path.is_file():
        raise dg.Failure(f"{what} not found at {path}; materialize the upstream asset first", allow_retries=False)
    return json.loads(path.read_text(encoding="utf-8"))


def _cover(paths, book_id: str, title: str, author: str) -> Path:
    from e3.media.cover import generate_cover

    meta = json.loads(paths.parse_metadata.read_text(encoding="utf-8")) if paths.parse_metadata.is_file() else {}
    rel = meta.get("cover_path")
    if rel and (paths.root / rel).is_file():
        return paths.root / rel
    cover = paths.images / "video-cover.png"
    if not cover.is_file():
        from e3.fsutil import atomic_write_bytes

        atomic_write_bytes(cover, generate_cover(title or book_id, author or ""))
    return cover


def _title_cards(paths, marks: list[Mark], book_title: str) -> list[Mark]:
    """``marks`` with a generated title card each (chapter title over the book title); stale cards go."""
    from e3.fsutil import atomic_write_bytes
    from e3.media.cover import generate_cover

    paths.images.mkdir(parents=True, exist_ok=True)
    out = []
    for i, m in enumerate(marks):
        card = paths.images / f"video-card-{i + 1:03d}-{sha256_text(m.title, book_title)[:10]}.png"
        if not card.is_file():
            atomic_write_bytes(card, generate_cover(m.title or f"Chapter {i + 1}", book_title))
        out.append(Mark(m.title, m.start, m.end, card))
    keep = {m.card.name for m in out}
    for stale in paths.images.glob("video-card-*.png"):
        if stale.name not in keep:
            stale.unlink(missing_ok=True)
    return out


def _max_hold() -> float:
    from e3.config import getenv

    raw = getenv("E3_BOOK_VIDEO_MAX_HOLD", "") or ""
    try:
        hold = float(raw) if raw.strip() else MAX_HOLD_S
    except ValueError:
        raise BookVideoError(f"E3_BOOK_VIDEO_MAX_HOLD must be seconds, not {raw!r}") from None
    if hold < 5:
        raise BookVideoError(f"E3_BOOK_VIDEO_MAX_HOLD must be at least 5 seconds, not {raw!r}")
    return hold


@dg.asset(
    partitions_def=books_partitions,
    deps=[audiobook_m4b, subtitles, _illustrations],
    group_name="video",
    kinds={"ffmpeg", "mp4"},
    pool="ffmpeg",
    retry_policy=TRANSIENT_RETRY,
    description="The narrated book video (videos/<book_id>.mp4): illustrations at the chapter positions they "
                "show, over the m4b's narration, with the book's chapters and soft subtitles; each chapter "
                "opens on its picture or title card, and stills change at least every E3_BOOK_VIDEO_MAX_HOLD "
                "s (180). One per chapter with per_chapter / E3_BOOK_VIDEO_PER_CHAPTER=1.",
)
def book_video(context: dg.AssetExecutionContext, config: BookVideoConfig, catalog: CatalogResource,
               foundry: FoundryResource, ffmpeg: FFmpegResource) -> dg.MaterializeResult:
    from e3.config import getenv

    book_id = context.partition_key
    paths = foundry.book(book_id)
    started = time.monotonic()
    per_chapter = config.per_chapter if config.per_chapter is not None else \
        (getenv("E3_BOOK_VIDEO_PER_CHAPTER", "0") or "0").lower() in ("1", "true", "yes", "on")
    with catalog_step(catalog, book_id, "video_generation"):
        m4b = paths.m4b(book_id)
        info = _read(paths.m4b_sidecar(book_id), "m4b sidecar")
        manifest = _read(paths.audiobook / "audio_manifest.json", "audio manifest")
        if not m4b.is_file():
            raise BookVideoError(f"{book_id}: {m4b} is missing; materialize audiobook_m4b again")
        srt = paths.subtitles / f"{book_id}.srt"
        if not srt.is_file():
            raise BookVideoError(f"{book_id}: no subtitles at {srt}; materialize subtitles first")
        marks = [Mark(c["title"], float(c["start"]), float(c["end"])) for c in info["chapters"]]
        used = sorted({e["chapter_index"] for e in manifest["chunks"]})
        chapter_of = {old: new for new, old in enumerate(used)}
        prompts_path = paths.images / "prompts.json"
        prompts = json.loads(prompts_path.read_text(encoding="utf-8")) if prompts_path.is_file() else {}
        with catalog.session() as s:
            files = list(s.scalars(sa.select(Image.local_file_path).where(
                Image.book_id == book_id, Image.video_job_id.is_(None))))
        images = sorted(Path(f) for f in files if Path(f).is_file())
        meta = json.loads(paths.parse_metadata.read_text(encoding="utf-8")) if paths.parse_metadata.is_file() else {}
        tags = {"title": meta.get("title") or book_id, "artist": meta.get("author") or "",
                "comment": "Narrated by E3"}
        cover = _cover(paths, book_id, tags["title"], tags["artist"])
        marks = _title_cards(paths, marks, tags["title"])
        stills = slide_timeline(marks, placements(images, scene_positions(prompts), chapter_of),
                                max_hold=_max_hold(), cover=cover)
        kwargs = ffmpeg.render_kwargs()
        if per_chapter:
            ranges = [(f"{book_id}-ch{i + 1:03d}", m.start, m.end) for i, m in enumerate(marks)]
        else:
            ranges = [(book_id, 0.0, float(info["duration"]))]
        inputs_hash = sha256_text(info.get("inputs_hash", ""), sha256_file(srt),
                                  *(f"{s.start:.3f}-{s.end:.3f}:{s.image.name}" for s in stills),
                                  json.dumps(kwargs, sort_keys=True), json.dumps(tags, sort_keys=True),
                                  str(per_chapter), str(YOUTUBE_LUFS))
        paths.videos.mkdir(parents=True, exist_ok=True)
        sidecar = paths.videos / f"{book_id}.videos.json"
        previous = json.loads(sidecar.read_text()) if sidecar.is_file() else None
        outs = [paths.videos / f"{name}.mp4" for name, _, _ in ranges]
        if previous and previous.get("inputs_hash") == inputs_hash and all(o.is_file() for o in outs):
            context.log.info(f"{book_id}: {len(outs)} video(s) up to date, not rendered again")
            videos = previous["videos"]
        else:
            work = Path(tempfile.mkdtemp(prefix=".e3bookvideo.", dir=paths.videos))
            try:
                raw = work / "narration.s16"
                total = _decode_pcm(m4b, raw)
                srt_text = srt.read_text(encoding="utf-8")
                videos = []
                for (name, start, end), out in zip(ranges, outs):
                    sub = srt
                    if per_chapter:
                        sub = work / f"{name}.srt"
                        sub.write_text(shift_srt(srt_text, start, end), encoding="utf-8")
                        if not sub.read_text(encoding="utf-8").strip():
                            sub = None  # a chapter without cues: no empty subtitle track
                    piece_dir = Path(tempfile.mkdtemp(dir=work))
                    videos.append(render_book_video(out, raw, total, stills, marks, start, end, sub, tags,
                                                    kwargs, piece_dir))
                    shutil.rmtree(piece_dir, ignore_errors=True)
                    context.log.info(f"{book_id}: {out.name} ({videos[-1]['duration']:.1f} s)")
            finally:
                shutil.rmtree(work, ignore_errors=True)
            atomic_write_json(sidecar, {"inputs_hash": inputs_hash, "videos": videos})
        keep = {o.name for o in outs}
        for stale in paths.videos.glob(f"{book_id}*.mp4"):
            if stale.name not in keep:  # the other mode's videos, or chapters that are gone
                stale.unlink(missing_ok=True)
        catalog.mark(book_id, "video_generation", "completed", total_videos_created=len(videos))
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(outs[0] if len(outs) == 1 else paths.videos)),
            "videos": len(videos),
            "per_chapter": per_chapter,
            "duration_seconds": round(sum(v["duration"] for v in videos), 2),
            "duration": human_duration(sum(v["duration"] for v in videos)),
            "illustrations": len(images),
            "slides": sum(v["slides"] for v in videos),
            "chapters": sum(v["chapters"] for v in videos),
            "wall_seconds": round(time.monotonic() - started, 2),
        },
        data_version=dg.DataVersion(inputs_hash[:16]),
    )
