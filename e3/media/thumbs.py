"""Small inline thumbnails for the Dagster UI, which renders images in metadata markdown only
from http(s) and ``data:`` URLs (a ``file://`` link is stripped by its sanitizer)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image


def thumbnail_data_url(path: Path | str, width: int = 160, quality: int = 70) -> str:
    """A ``data:image/jpeg;base64,...`` URL of ``path`` scaled to ``width`` pixels (a few KB)."""
    with Image.open(path) as img:
        img = img.convert("RGB")
        img.thumbnail((width, width * 4))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def thumbnails_markdown(paths: list[Path], width: int = 160) -> str:
    """Markdown showing each picture as an inline thumbnail under its file name."""
    return "\n\n".join(f"**{Path(p).name}**  \n![{Path(p).stem}]({thumbnail_data_url(p, width)})" for p in paths)
