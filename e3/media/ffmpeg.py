"""Locate and run FFmpeg.

The binary comes from ``imageio-ffmpeg`` (so ``pip install`` is all a user needs), else from
``E3_FFMPEG`` or ``PATH``. That build has no ffprobe: durations come from mutagen or from parsing
``ffmpeg -i``.
"""

from __future__ import annotations

import functools

import re
import shutil
import subprocess
from pathlib import Path

from e3.errors import E3Error


class FFmpegError(E3Error):
    """FFmpeg failed; the message carries the tail of its stderr."""


def ffmpeg_exe() -> str:
    """``E3_FFMPEG`` when set, else imageio-ffmpeg's binary, else ``ffmpeg`` on PATH."""
    from e3.config import settings

    return settings().ffmpeg or _bundled_ffmpeg()


@functools.lru_cache(maxsize=1)
def _bundled_ffmpeg() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # pragma: no cover - only without imageio-ffmpeg
        found = shutil.which("ffmpeg")
        if not found:
            raise FFmpegError("no ffmpeg found: install imageio-ffmpeg or put ffmpeg on PATH")
        return found


def run_ffmpeg(args: list[str], *, what: str = "ffmpeg", input_bytes: bytes | None = None,
               timeout: float | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with ``args`` (without the binary). Raises FFmpegError with stderr's tail."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    if input_bytes is not None:
        cmd.remove("-nostdin")
    proc = subprocess.run(cmd, input=input_bytes, capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-6:]
        raise FFmpegError(f"{what} failed: " + " | ".join(tail))
    return proc


_DURATION = re.compile(rb"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")


def probe_duration(path: Path | str) -> float:
    """Duration in seconds: mutagen when it knows the format, else ``ffmpeg -i`` output, else (a
    header without a length) by decoding."""
    path = Path(path)
    if not path.is_file():
        raise FFmpegError(f"{path}: no such file")
    try:
        import mutagen

        info = mutagen.File(str(path))
        if info is not None and getattr(info, "info", None) is not None and info.info.length:
            return float(info.info.length)
    except Exception:
        pass
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
                          capture_output=True)
    m = _DURATION.search(proc.stderr)
    if not m:
        if b"Audio:" in proc.stderr:
            # A stream written without its length in the header (e.g. FLAC piped to stdout).
            return decode_duration(path)
        raise FFmpegError(f"{path.name}: cannot read its duration (not a media file?)")
    h, mi, s = m.groups()
    return int(h) * 3600 + int(mi) * 60 + float(s)


def decode_duration(path: Path | str) -> float:
    """Exact duration by decoding the audio (slower; robust for VBR MP3 without headers)."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-vn",
                           "-f", "null", "-"], capture_output=True)
    if proc.returncode != 0:
        raise FFmpegError(f"{Path(path).name}: cannot be decoded: "
                          + proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1])
    times = re.findall(rb"time=(\d+):(\d+):(\d+(?:\.\d+)?)", proc.stderr)
    if not times:
        raise FFmpegError(f"{Path(path).name}: decoded no audio")
    h, mi, s = times[-1]
    return int(h) * 3600 + int(mi) * 60 + float(s)
