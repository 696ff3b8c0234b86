"""Covers: a generated title/author cover, and normalizing any cover image for players.

Pillow only (its bundled scalable font, Pillow >= 10.1), so no system font is needed.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import textwrap

from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from e3.errors import E3Error

MAX_COVER = 1400


class CoverError(E3Error):
    """The cover image cannot be read or written."""


def _palette(title: str) -> tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]:
    h = hashlib.sha256(title.encode("utf-8")).digest()
    hue = h[0] / 255
    top = tuple(int(c * 255) for c in colorsys.hls_to_rgb(hue, 0.22, 0.55))
    bottom = tuple(int(c * 255) for c in colorsys.hls_to_rgb((hue + 0.08) % 1, 0.10, 0.50))
    accent = tuple(int(c * 255) for c in colorsys.hls_to_rgb((hue + 0.5) % 1, 0.70, 0.60))
    return top, bottom, accent  # type: ignore[return-value]


def _fit_lines(draw: ImageDraw.ImageDraw, text: str, max_width: int, start_size: int,
               max_lines: int) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    size = start_size
    while True:
        font = ImageFont.load_default(size=size)
        # Wrap by characters based on an average glyph width, then check real pixel widths.
        avg = max(1.0, draw.textlength("abcdefghijklmnopqrstuvwxyz", font=font) / 26)
        width_chars = max(4, int(max_width / avg))
        lines = textwrap.wrap(text, width=width_chars) or [""]
        fits = len(lines) <= max_lines and all(draw.textlength(l, font=font) <= max_width for l in lines)
        if fits or size <= 12:
            return font, lines[:max_lines]
        size = int(size * 0.9)


def generate_cover(title: str, author: str, size: int = MAX_COVER) -> bytes:
    """A square PNG with the title and author over a gradient derived from the title's hash."""
    if size < 64:
        raise CoverError(f"cover size {size} is too small (min 64 px)")
    title = (title or "Untitled").strip()
    author = (author or "").strip()
    top, bottom, accent = _palette(title)
    img = Image.new("RGB", (size, size), top)
    draw = ImageDraw.Draw(img)
    for y in range(size):  # vertical gradient
        t = y / (size - 1)
        draw.line([(0, y), (size, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))
    margin = size // 10
    draw.rectangle([margin // 2, margin // 2, size - margin // 2, size - margin // 2],
                   outline=accent, width=max(2, size // 200))
    width = size - 2 * margin
    tfont, tlines = _fit_lines(draw, title, width, size // 9, 5)
    y = int(size * 0.22)
    for line in tlines:
        w = draw.textlength(line, font=tfont)
        draw.text(((size - w) / 2, y), line, font=tfont, fill=(250, 248, 240))
        y += int(tfont.size * 1.2)
    draw.line([(size * 0.3, y + size * 0.03), (size * 0.7, y + size * 0.03)], fill=accent,
              width=max(2, size // 250))
    if author:
        afont, alines = _fit_lines(draw, author, width, size // 16, 2)
        ay = max(y + int(size * 0.08), int(size * 0.72))
        for line in alines:
            w = draw.textlength(line, font=afont)
            draw.text(((size - w) / 2, ay), line, font=afont, fill=accent)
            ay += int(afont.size * 1.2)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def normalize_cover(data: bytes, max_size: int = MAX_COVER) -> bytes:
    """Any image Pillow reads -> baseline RGB JPEG, longest side <= ``max_size``, EXIF rotation
    applied. Very wide or tall images are center-cropped to at most 4:3 so players show them."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise CoverError(f"cover image cannot be read: {exc}") from None
    img = ImageOps.exif_transpose(img)
    if img.mode not in ("RGB", "L"):
        bg = Image.new("RGB", img.size, (255, 255, 255))
        rgba = img.convert("RGBA")
        bg.paste(rgba, mask=rgba.split()[-1])
        img = bg
    img = img.convert("RGB")
    w, h = img.size
    if max(w, h) > 4 * min(w, h) / 3:  # crop extreme aspect ratios to 4:3
        if w > h:
            nw = int(h * 4 / 3)
            img = img.crop(((w - nw) // 2, 0, (w - nw) // 2 + nw, h))
        else:
            nh = int(w * 4 / 3)
            img = img.crop((0, (h - nh) // 2, w, (h - nh) // 2 + nh))
    img.thumbnail((max_size, max_size), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=88, optimize=True, progressive=False)
    return buf.getvalue()
