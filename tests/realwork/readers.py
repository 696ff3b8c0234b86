"""Independent readers for the real-work tests: they read what a player reads, and none of them
is the code that wrote the file (ffmpeg decodes, mutagen reads tags, mp4boxes reads boxes, and
the SRT is parsed here)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from e3.media.ffmpeg import ffmpeg_exe


def decode_errors(path: Path, *, video: bool = False) -> str:
    """Decode every packet of the file (audio, and video when asked); return ffmpeg's errors."""
    maps = ["-map", "0:a:0"] + (["-map", "0:v:0"] if video else [])
    proc = subprocess.run([ffmpeg_exe(), "-v", "error", "-nostdin", "-threads", "2", "-i", str(path), *maps,
                           "-f", "null", "-"], capture_output=True, text=True)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    return "\n".join(lines) + ("" if proc.returncode == 0 else f"\nexit {proc.returncode}")


def decoded_seconds(path: Path, rate: int = 8000) -> float:
    """Seconds of audio the whole file decodes to (resampled, so the count is cheap to hold)."""
    proc = subprocess.Popen([ffmpeg_exe(), "-v", "error", "-nostdin", "-i", str(path), "-map", "0:a:0",
                             "-ac", "1", "-ar", str(rate), "-f", "u8", "-"], stdout=subprocess.PIPE)
    total = 0
    assert proc.stdout is not None
    while chunk := proc.stdout.read(1 << 20):
        total += len(chunk)
    proc.wait()
    return total / rate


@dataclass
class Cue:
    index: int
    start: float
    end: float
    text: str


_TIME = re.compile(r"(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)")


def read_srt(path: Path) -> list[Cue]:
    """Parse an SRT strictly: numbered blocks, a timing line, one or two text lines."""
    cues = []
    blocks = [b for b in re.split(r"\r?\n\r?\n", path.read_text(encoding="utf-8").strip()) if b.strip()]
    for block in blocks:
        lines = block.splitlines()
        m = _TIME.fullmatch(lines[1].strip())
        assert lines[0].strip().isdigit() and m, f"malformed SRT block: {block[:80]!r}"
        g = [int(x) for x in m.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        cues.append(Cue(int(lines[0]), start, end, "\n".join(lines[2:])))
    return cues
