"""The FFmpeg resource: the render defaults (frame rate, x264 preset, size, workers).

Every field defaults to None = the setting (``e3.config.Settings``) at run time:

- ``fps``: ``E3_VIDEO_FPS`` (default 24; YouTube takes 24 or 30);
- ``preset``: ``E3_X264_PRESET`` (default ``veryfast``; still images gain little from slower ones);
- ``size``: ``E3_VIDEO_SIZE`` (default ``1920x1080``; tests use e.g. ``320x180``);
- ``workers``: ``E3_RENDER_WORKERS`` (default: the CPU count).
"""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field

from e3.config import settings


class FFmpegResource(dg.ConfigurableResource):
    """FFmpeg for the renderer and the m4b/video steps. The binary is ``E3_FFMPEG`` (else
    imageio-ffmpeg's), for the whole process: every media step calls the same one."""

    fps: int | None = Field(default=None, description="Output frame rate (24, 25 or 30); default E3_VIDEO_FPS or 24")
    preset: str | None = Field(default=None, description="x264 preset; default E3_X264_PRESET or veryfast")
    size: str | None = Field(default=None, description="WIDTHxHEIGHT; default E3_VIDEO_SIZE or 1920x1080")
    workers: int | None = Field(default=None, description="Parallel ffmpeg jobs; default E3_RENDER_WORKERS or CPUs")

    def _chosen(self):
        return settings(video_fps=self.fps, x264_preset=self.preset, video_size=self.size,
                        render_workers=self.workers)

    def exe(self) -> str:
        from e3.media.ffmpeg import ffmpeg_exe

        return ffmpeg_exe()

    def frame_rate(self) -> int:
        return self._chosen().video_fps

    def x264_preset(self) -> str:
        return self._chosen().x264_preset

    def dimensions(self) -> tuple[int, int]:
        from e3.studio import parse_size

        return parse_size(self._chosen().video_size)

    def worker_count(self) -> int:
        return self._chosen().render_workers or os.cpu_count() or 2

    def render_kwargs(self) -> dict:
        """Keywords for ``e3.video.render.render_video``."""
        self.exe()
        width, height = self.dimensions()
        return {"width": width, "height": height, "fps": self.frame_rate(), "preset": self.x264_preset(),
                "workers": self.worker_count()}
