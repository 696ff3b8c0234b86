"""The book video without Dagster: its picture timeline, and its rendering (``make_book_videos``,
called by the ``book_video`` asset).

``slide_timeline`` turns chapter marks, illustration placements and a max-hold setting into
contiguous stills ``(image, start, end)`` covering the whole book:

* each chapter opens on its own picture: its first illustration when that is placed at the
  chapter's start (within ``min_slide``), else the chapter's title card until the first one;
* an illustration shows from its placement until the next picture or the chapter's end;
* no still is held longer than ``max_hold`` where there is something to change to: a long span is
  cut into equal parts that alternate its picture with the chapter's other pictures and title card
  (a chapter without pictures alternates its title card with ``cover``).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from e3.errors import E3Error
from e3.fsutil import atomic_path, atomic_write_json, sha256_file, sha256_text
from e3.media.loudness import YOUTUBE

MAX_HOLD_S = 180.0  # longest still where there is another picture to change to
MIN_SLIDE_S = 1.0  # shorter picture spans are merged into their neighbours
SCENE_FILE = re.compile(r"^scene-(\d{3})-(\d+)-[0-9a-f]+\.png$")


@dataclass(frozen=True)
class Mark:
    """A chapter on the book's timeline (seconds), with the title card it opens on."""

    title: str
    start: float
    end: float
    card: Path | None = None


@dataclass(frozen=True)
class Placement:
    """An illustration of chapter ``chapter`` (index into the marks) at ``position`` 0-1 in it."""

    chapter: int
    position: float
    image: Path


@dataclass(frozen=True)
class Still:
    image: Path
    start: float
    end: float


def scene_positions(prompts: dict) -> dict[tuple[int, int], float]:
    """(chapter_index, scene number in chapter) -> position 0-1 in the chapter."""
    scenes = prompts.get("scenes") or []
    per_chapter: dict[int, int] = {}
    keyed = []
    for s in scenes:
        ch = int(s["chapter_index"])
        n = int(s.get("scene_index", per_chapter.get(ch, 0)))
        per_chapter[ch] = max(per_chapter.get(ch, 0), n + 1)
        keyed.append((ch, n, s.get("position")))
    out = {}
    for ch, n, pos in keyed:
        if isinstance(pos, (int, float)) and 0 <= pos <= 1:
            out[(ch, n)] = float(pos)
        else:  # spread evenly; the first scene opens the chapter
            out[(ch, n)] = n / per_chapter[ch]
    return out


def placements(images: list[Path], positions: dict[tuple[int, int], float],
               chapter_of: dict[int, int]) -> list[Placement]:
    """Placements of ``scene-CCC-N-hash.png`` files; ``chapter_of`` maps a parsed chapter index to
    its m4b chapter number (chapters without narration have none: their pictures are left out)."""
    out = []
    for path in images:
        m = SCENE_FILE.match(Path(path).name)
        if not m:
            continue
        ch, n = int(m[1]) - 1, int(m[2]) - 1
        if ch in chapter_of:
            out.append(Placement(chapter_of[ch], positions.get((ch, n), 0.0), Path(path)))
    return out


def _split(image: Path, a: float, b: float, alternates: list[Path], max_hold: float,
           following: Path | None) -> list[Still]:
    """[a, b) showing ``image``, cut into parts of <= max_hold alternating with ``alternates``
    (never ending on ``following``, the picture after b, which would hide that change)."""
    alts = [p for p in dict.fromkeys(alternates) if p != image]
    if b - a <= max_hold or not alts:
        return [Still(image, a, b)]
    k = math.ceil((b - a) / max_hold - 1e-9)
    if k % 2 == 0 and alts[(k // 2 - 1) % len(alts)] == following:
        k += 1  # end on the span's own picture instead
    step = (b - a) / k
    out = []
    for j in range(k):
        img = image if j % 2 == 0 else alts[(j // 2) % len(alts)]
        out.append(Still(img, a + j * step, b if j == k - 1 else a + (j + 1) * step))
    return out


def slide_timeline(marks: list[Mark], places: list[Placement], *, max_hold: float = MAX_HOLD_S,
                   cover: Path | None = None, min_slide: float = MIN_SLIDE_S) -> list[Still]:
    """Contiguous stills over the chapters (see the module docstring); ``cover`` stands in for a
    mark without a card. Consecutive stills of the same picture are joined while <= max_hold."""
    out: list[Still] = []
    for c, mark in enumerate(marks):
        s, e = mark.start, mark.end
        if e - s <= 0:
            continue
        card = mark.card or cover
        pics = sorted((p for p in places if p.chapter == c), key=lambda p: (p.position, p.image.name))
        anchors: list[tuple[float, Path]] = []
        for p in pics:
            t = s + min(1.0, max(0.0, p.position)) * (e - s)
            if t - s < min_slide:
                t = s  # placed at the opening: the chapter opens on it
            if anchors:
                t = max(t, anchors[-1][0] + min_slide)  # too close to the one before: a little later
            if anchors and t > e - min_slide:
                continue  # no room left to be seen
            anchors.append((min(t, max(s, e - min_slide)), p.image))
        if card is not None and (not anchors or anchors[0][0] > s):
            anchors.insert(0, (s, card))
        elif anchors:
            anchors[0] = (s, anchors[0][1])
        else:
            continue  # nothing to show at all: the previous still goes on (first one: an error upstream)
        chapter_pics = [im for _, im in anchors if im != card]
        following = [im for _, im in anchors[1:]] + [None]
        for i, (t, image) in enumerate(anchors):
            end = anchors[i + 1][0] if i + 1 < len(anchors) else e
            if image == card:
                alts = chapter_pics or ([cover] if cover is not None else [])
            else:  # its card and the pictures already seen (latest first), before the ones to come
                k = chapter_pics.index(image)
                alts = ([card] if card is not None else []) + chapter_pics[:k][::-1] + chapter_pics[k + 1:]
            out.extend(_split(image, t, end, alts, max_hold, following[i]))
    joined: list[Still] = []
    for st in out:
        if joined and joined[-1].image == st.image and st.end - joined[-1].start <= max_hold:
            joined[-1] = Still(st.image, joined[-1].start, st.end)
        elif joined and joined[-1].end < st.start:  # a chapter with nothing to show: keep the last
            joined[-1] = Still(joined[-1].image, joined[-1].start, st.start)
            joined.append(st)
        else:
            joined.append(st)
    if joined and marks:
        joined[-1] = Still(joined[-1].image, joined[-1].start, max(joined[-1].end, marks[-1].end))
    return joined


def clip_timeline(stills: list[Still], start: float, end: float, min_slide: float = MIN_SLIDE_S) -> list[Still]:
    """The stills inside [start, end), cut to it; a sliver shorter than ``min_slide`` joins its neighbour."""
    out: list[Still] = []
    for st in stills:
        a, b = max(st.start, start), min(st.end, end)
        if b <= a:
            continue
        if out and b - a < min_slide:
            out[-1] = Still(out[-1].image, out[-1].start, b)
        elif out and out[-1].end - out[-1].start < min_slide:
            out[-1] = Still(st.image, out[-1].start, b)
        else:
            out.append(Still(st.image, a, b))
    return out


# --------------------------------------------------------------------------------------------
# Rendering the book video (the book_video asset calls make_book_videos)

RATE = 48000
YOUTUBE_LUFS = YOUTUBE[0]  # the loudness module's YouTube target


class BookVideoError(E3Error):
    """The book video cannot be made (missing narration, unreadable pictures ...)."""



def shift_srt(srt_text: str, start: float, end: float) -> str:
    """The cues inside [start, end), moved so ``start`` becomes 0 (for per-chapter videos)."""
    from e3.narration.subtitles import Cue, parse_srt, to_srt

    cues = []
    for c in parse_srt(srt_text):
        if c.end <= start or c.start >= end:
            continue
        cues.append(Cue(max(0.0, c.start - start), min(end, c.end) - start, c.lines))
    return to_srt(cues)


def decode_pcm(m4b: Path, dst: Path) -> int:
    from e3.media.ffmpeg import run_ffmpeg

    run_ffmpeg(["-v", "error", "-y", "-i", str(m4b), "-vn", "-map", "0:a:0", "-ar", str(RATE), "-ac", "2",
                "-f", "s16le", "-c:a", "pcm_s16le", str(dst)], what=f"decoding {m4b.name}")
    return dst.stat().st_size // 4


def cut_wav(raw: Path, a: int, b: int, dst: Path) -> None:
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
        cut_wav(raw, a, b, piece)
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


def cover_for(paths, book_id: str, title: str, author: str) -> Path:
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


def title_cards(paths, marks: list[Mark], book_title: str) -> list[Mark]:
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


def max_hold() -> float:
    """``E3_BOOK_VIDEO_MAX_HOLD`` seconds (at least 5; default 180)."""
    from e3.config import settings

    return settings().book_video_max_hold


@dataclass
class BookVideos:
    videos: list[dict]
    outs: list[Path]
    inputs_hash: str
    reused: bool
    stills: int


def make_book_videos(paths, book_id: str, images: list[Path], *, render_kwargs: dict, per_chapter: bool,
                     log: Callable[[str], None] = lambda _m: None) -> BookVideos:
    """The book's video (or one per chapter) from its m4b, subtitles, illustrations and title
    cards; nothing is rendered when the inputs are those of the videos already there."""
    m4b, srt, sidecar_path = paths.m4b(book_id), paths.srt(book_id), paths.m4b_sidecar(book_id)
    for path, what in ((sidecar_path, "materialize audiobook_m4b"), (m4b, "materialize audiobook_m4b again"),
                       (paths.audio_manifest, "materialize audio_chunks"), (srt, "materialize subtitles first")):
        if not path.is_file():
            raise BookVideoError(f"{book_id}: {path} is missing; {what}")
    info = json.loads(sidecar_path.read_text(encoding="utf-8"))
    manifest = json.loads(paths.audio_manifest.read_text(encoding="utf-8"))
    used = sorted({e["chapter_index"] for e in manifest["chunks"]})
    chapter_of = {old: new for new, old in enumerate(used)}
    prompts_path = paths.image_prompts
    prompts = json.loads(prompts_path.read_text(encoding="utf-8")) if prompts_path.is_file() else {}
    meta = json.loads(paths.parse_metadata.read_text(encoding="utf-8")) if paths.parse_metadata.is_file() else {}
    tags = {"title": meta.get("title") or book_id, "artist": meta.get("author") or "", "comment": "Narrated by E3"}
    cover = cover_for(paths, book_id, tags["title"], tags["artist"])
    marks = title_cards(paths, [Mark(c["title"], float(c["start"]), float(c["end"])) for c in info["chapters"]],
                        tags["title"])
    stills = slide_timeline(marks, placements(images, scene_positions(prompts), chapter_of),
                            max_hold=max_hold(), cover=cover)
    if per_chapter:
        ranges = [(f"{book_id}-ch{i + 1:03d}", m.start, m.end) for i, m in enumerate(marks)]
    else:
        ranges = [(book_id, 0.0, float(info["duration"]))]
    inputs_hash = sha256_text(info.get("inputs_hash", ""), sha256_file(srt),
                              *(f"{s.start:.3f}-{s.end:.3f}:{s.image.name}" for s in stills),
                              json.dumps(render_kwargs, sort_keys=True), json.dumps(tags, sort_keys=True),
                              str(per_chapter), str(YOUTUBE_LUFS))
    paths.videos.mkdir(parents=True, exist_ok=True)
    sidecar = paths.videos / f"{book_id}.videos.json"
    previous = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else None
    outs = [paths.videos / f"{name}.mp4" for name, _, _ in ranges]
    reused = bool(previous and previous.get("inputs_hash") == inputs_hash and all(o.is_file() for o in outs))
    if reused:
        log(f"{len(outs)} video(s) up to date, not rendered again")
        videos = previous["videos"]
    else:
        videos = _render_ranges(m4b, srt, ranges, outs, stills, marks, tags, render_kwargs, paths.videos,
                                per_chapter, log)
        atomic_write_json(sidecar, {"inputs_hash": inputs_hash, "videos": videos})
    keep = {o.name for o in outs}
    for stale in paths.videos.glob(f"{book_id}*.mp4"):
        if stale.name not in keep:  # the other mode's videos, or chapters that are gone
            stale.unlink(missing_ok=True)
    return BookVideos(videos, outs, inputs_hash, reused, len(stills))


def _render_ranges(m4b, srt, ranges, outs, stills, marks, tags, render_kwargs, folder, per_chapter, log) -> list[dict]:
    work = Path(tempfile.mkdtemp(prefix=".e3bookvideo.", dir=folder))
    try:
        raw = work / "narration.s16"
        total = decode_pcm(m4b, raw)
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
                                            render_kwargs, piece_dir))
            shutil.rmtree(piece_dir, ignore_errors=True)
            log(f"{out.name} ({videos[-1]['duration']:.1f} s)")
        return videos
    finally:
        shutil.rmtree(work, ignore_errors=True)
