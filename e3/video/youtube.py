"""YouTube export helpers: chapter tracklist, thumbnail, description and the upload folder.

YouTube rules (DESIGN.md): description chapters start at 0:00, need at least 3 timestamps, each
chapter at least 10 s; thumbnails 1280x720 under 2 MB; captions uploaded as SRT.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from e3.errors import E3Error
from e3.fsutil import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text

THUMB_SIZE = (1280, 720)
THUMB_MAX_BYTES = 2 * 1024 * 1024
MIN_CHAPTER_S = 10.0


class YouTubeExportError(E3Error):
    """The export package cannot be made (bad tracklist, missing file...)."""


def _stamp(seconds: float, hours: bool) -> str:
    s = int(seconds)  # YouTube reads whole seconds; floor so a chapter never starts late
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if hours else f"{m:02d}:{sec:02d}"


def tracklist(titles: Sequence[str], durations: Sequence[float], start: float = 0.0) -> str:
    """Description chapter lines, e.g. ``"00:00 Intro"``; ``h:mm:ss`` once the video passes an hour.

    ``start`` seconds of intro before the first track are counted into the first chapter.

    A chapter shorter than 10 s is merged into the one before it (its title joined with " / "),
    or into the next one when it is the first. Raises YouTubeExportError when fewer than 3 chapters
    remain or the lists do not match.
    """
    if len(titles) != len(durations):
        raise YouTubeExportError(f"{len(titles)} titles but {len(durations)} durations")
    if any(d < 0 for d in durations):
        raise YouTubeExportError("negative duration in tracklist")
    items = [[str(t).strip() or f"Track {i + 1}", float(d)] for i, (t, d) in enumerate(zip(titles, durations))]
    if items and start > 0:  # an intro before the first track belongs to the first chapter (00:00)
        items[0][1] += start
    merged: list[list] = []
    for item in items:
        if merged and merged[-1][1] < MIN_CHAPTER_S:  # a short first chapter absorbs the next
            merged[-1] = [merged[-1][0] + " / " + item[0], merged[-1][1] + item[1]]
        elif item[1] < MIN_CHAPTER_S and merged:
            merged[-1] = [merged[-1][0] + " / " + item[0], merged[-1][1] + item[1]]
        else:
            merged.append(item)
    if merged and merged[-1][1] < MIN_CHAPTER_S and len(merged) > 1:
        last = merged.pop()
        merged[-1] = [merged[-1][0] + " / " + last[0], merged[-1][1] + last[1]]
    if len(merged) < 3:
        raise YouTubeExportError(f"YouTube needs at least 3 chapters of >= 10 s; got {len(merged)}")
    total = sum(d for _, d in merged)
    hours = total >= 3600
    lines, t = [], 0.0
    for title, d in merged:
        lines.append(f"{_stamp(t, hours)} {title}")  # first line is always 00:00
        t += d
    return "\n".join(lines)


def make_thumbnail(image: Path | bytes, title: str, out: Path) -> Path:
    """A 1280x720 JPEG under 2 MB: the image cropped to 16:9 with ``title`` drawn legibly.

    The text sits on a dark band at the bottom, wrapped to at most 3 lines, with a stroke.
    """
    from PIL import Image, ImageDraw, ImageFont, ImageOps

    try:
        src = Image.open(io.BytesIO(image) if isinstance(image, (bytes, bytearray)) else image)
        src.load()
    except Exception as exc:
        raise YouTubeExportError(f"thumbnail source unreadable: {exc}") from None
    im = ImageOps.fit(ImageOps.exif_transpose(src).convert("RGB"), THUMB_SIZE, Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(im, "RGBA")
    size = 96
    words = title.split()
    while True:
        font = ImageFont.load_default(size=size)
        lines, cur = [], ""
        for w in words:
            trial = f"{cur} {w}".strip()
            if draw.textlength(trial, font=font) <= THUMB_SIZE[0] - 80 or not cur:
                cur = trial
            else:
                lines.append(cur)
                cur = w
        if cur:
            lines.append(cur)
        if (len(lines) <= 3 and all(draw.textlength(x, font=font) <= THUMB_SIZE[0] - 80 for x in lines)) \
                or size <= 36:
            break
        size -= 8
    line_h = int(size * 1.15)
    block = line_h * len(lines) + 40
    draw.rectangle([0, THUMB_SIZE[1] - block, THUMB_SIZE[0], THUMB_SIZE[1]], fill=(0, 0, 0, 170))
    y = THUMB_SIZE[1] - block + 20
    for line in lines:
        w = draw.textlength(line, font=font)
        draw.text(((THUMB_SIZE[0] - w) / 2, y), line, font=font, fill="white",
                  stroke_width=max(2, size // 24), stroke_fill="black")
        y += line_h
    for quality in (90, 80, 70, 60, 50):
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=quality, optimize=True)
        if buf.tell() < THUMB_MAX_BYTES:
            return atomic_write_bytes(Path(out), buf.getvalue())
    raise YouTubeExportError("thumbnail stays above 2 MB")  # pragma: no cover - 1280x720 JPEG


def description(title: str, tracklist_text: str, *, intro: str = "", credits: str = "",
                tags: Sequence[str] = ()) -> str:
    """The video description: intro, the chapter tracklist, credits, then hashtags (first 3 tags)."""
    parts = [p for p in (intro.strip() or title.strip(), "Tracklist:\n" + tracklist_text.strip(),
                         credits.strip()) if p]
    hashtags = " ".join("#" + "".join(ch for ch in t.title() if ch.isalnum()) for t in list(tags)[:3])
    if hashtags.strip("# "):
        parts.append(hashtags)
    text = "\n\n".join(parts) + "\n"
    if len(text) > 5000:
        raise YouTubeExportError(f"description is {len(text)} characters; YouTube allows 5000")
    return text


def export_package(out_dir: Path, *, title: str, description: str, tags: Sequence[str], tracklist: str,
                   thumbnail_src: Path | bytes, video_path: Path, captions_srt: Path | None = None) -> dict:
    """Write a YouTube-ready folder; returns the metadata dict (also saved as ``metadata.json``).

    Files: ``title.txt``, ``description.txt`` (with the tracklist if not already in it),
    ``tags.txt`` (one per line), ``thumbnail.jpg``, ``video.mp4`` (hard link, else copy),
    ``captions.srt`` when given, ``metadata.json``. Every file is written atomically.
    """
    out_dir = Path(out_dir)
    video_path = Path(video_path)
    if not video_path.is_file():
        raise YouTubeExportError(f"{video_path}: video not found")
    if captions_srt is not None and not Path(captions_srt).is_file():
        raise YouTubeExportError(f"{captions_srt}: captions not found")
    if not title.strip() or len(title) > 100:
        raise YouTubeExportError("title must be 1..100 characters")
    out_dir.mkdir(parents=True, exist_ok=True)
    desc = description if tracklist.strip() in description else description.rstrip() + "\n\n" + tracklist + "\n"
    atomic_write_text(out_dir / "title.txt", title.strip() + "\n")
    atomic_write_text(out_dir / "description.txt", desc)
    clean_tags = [t.strip() for t in tags if t.strip()]
    atomic_write_text(out_dir / "tags.txt", "\n".join(clean_tags) + "\n")
    make_thumbnail(thumbnail_src, title, out_dir / "thumbnail.jpg")
    video_out = out_dir / ("video" + video_path.suffix.lower())
    with atomic_path(video_out) as tmp:
        tmp.unlink()
        try:
            os.link(video_path, tmp)
        except OSError:  # other filesystem
            shutil.copyfile(video_path, tmp)
    files = ["title.txt", "description.txt", "tags.txt", "thumbnail.jpg", video_out.name]
    if captions_srt is not None:
        with atomic_path(out_dir / "captions.srt") as tmp:
            shutil.copyfile(captions_srt, tmp)
        files.append("captions.srt")
    meta = {"title": title.strip(), "description": desc, "tags": clean_tags, "tracklist": tracklist,
            "files": files + ["metadata.json"], "video_bytes": video_path.stat().st_size}
    atomic_write_json(out_dir / "metadata.json", meta)
    json.dumps(meta)  # fails loudly on non-serialisable content before anyone uploads
    return meta
