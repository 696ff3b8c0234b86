"""The FFmpeg resource: which binary, and the render defaults (frame rate, x264 preset, size).

Every field defaults to None = read at run time:

- ``binary``: ``E3_FFMPEG``, else the ``imageio-ffmpeg`` binary, else ``ffmpeg`` on PATH;
- ``fps``: ``E3_VIDEO_FPS`` (default 24; YouTube takes 24 or 30);
- ``preset``: ``E3_X264_PRESET`` (default ``veryfast``; still images gain little from slower ones);
- ``size``: ``E3_VIDEO_SIZE`` (default ``1920x1080``; tests use e.g. ``320x180``);
- ``workers``: ``E3_RENDER_WORKERS`` (default: the CPU count).
"""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field

from e3.config import getenv
from e3.errors import ConfigError


class FFmpegResource(dg.ConfigurableResource):
    """FFmpeg for the renderer and the m4b/video steps."""

    binary: str | None = Field(default=None, description="ffmpeg binary; default E3_FFMPEG, imageio-ffmpeg, PATH")
    fps: int | None = Field(default=None, description="Output frame rate; default E3_VIDEO_FPS or 24")
    preset: str | None = Field(default=None, description="x264 preset; default E3_X264_PRESET or veryfast")
    size: str | None = Field(default=None, description="WIDTHxHEIGHT; default E3_VIDEO_SIZE or 1920x1080")
    workers: int | None = Field(default=None, description="Parallel ffmpeg jobs; default E3_RENDER_WORKERS or CPUs")

    def exe(self) -> str:
        if self.binary:
            os.environ["E3_FFMPEG"] = self.binary  # e3.media.ffmpeg reads it (and caches the answer)
        from e3.media.ffmpeg import ffmpeg_exe

        return ffmpeg_exe()

    def frame_rate(self) -> int:
        raw = self.fps or getenv("E3_VIDEO_FPS", "24")
        try:
            fps = int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"E3_VIDEO_FPS must be a whole number, not {raw!r}") from None
        if fps not in (24, 25, 30):
            raise ConfigError(f"video frame rate must be 24, 25 or 30 (YouTube), not {fps}")
        return fps

    def x264_preset(self) -> str:
        return self.preset or getenv("E3_X264_PRESET", "veryfast") or "veryfast"

    def dimensions(self) -> tuple[int, int]:
        from e3.studio import parse_size

        return parse_size(self.size or getenv("E3_VIDEO_SIZE", "1920x1080") or "1920x1080")

    def worker_count(self) -> int:
        raw = self.workers or getenv("E3_RENDER_WORKERS")
        return int(raw) if raw else (os.cpu_count() or 2)

    def render_kwargs(self) -> dict:
        """Keywords for ``e3.video.render.render_video``."""
        self.exe()
        width, height = self.dimensions()
        return {"width": width, "height": height, "fps": self.frame_rate(), "preset": self.x264_preset(),
                "workers": self.worker_count()}
