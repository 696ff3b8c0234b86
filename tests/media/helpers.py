"""Small generated inputs for the audio tests (speech-like: voiced harmonics + noise, syllable
envelope), made with the real ffmpeg."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from e3.media.ffmpeg import ffmpeg_exe


def speech_like(path: Path, seconds: float, *, seed: int = 1, rate: int = 22050, channels: int = 1,
                codec_args: list[str] | None = None, level: float = 0.3, fade: bool = True,
                metadata: dict[str, str] | None = None) -> Path:
    """A few seconds of speech-like sound: a 140 Hz voice with harmonics and breath noise,
    modulated at a syllable rate. ``fade`` gives the file quiet edges like real tracks."""
    f0 = 120 + 10 * (seed % 5)
    voice = (f"aevalsrc='{level}*(0.6*sin(2*PI*{f0}*t)+0.3*sin(2*PI*{2*f0}*t)+0.15*sin(2*PI*{3*f0}*t))"
             f"*(0.15+0.85*abs(sin(2*PI*{1.7 + 0.2*seed}*t)))':s={rate}:d={seconds}")
    noise = f"anoisesrc=c=pink:r={rate}:a={level * 0.15}:d={seconds}:seed={seed}"
    graph = f"{voice}[v];{noise},lowpass=3500[n];[v][n]amix=inputs=2:normalize=0"
    if fade:
        graph += f",afade=t=in:d=0.15,afade=t=out:st={max(0.0, seconds - 0.2)}:d=0.2"
    cmd = [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-filter_complex", graph + "[o]",
           "-map", "[o]", "-ac", str(channels)]
    for k, v in (metadata or {}).items():
        cmd += ["-metadata", f"{k}={v}"]
    cmd += [*(codec_args or []), str(path)]
    subprocess.run(cmd, check=True)
    return path


def decode(path: Path, rate: int | None = None, channels: int = 1) -> np.ndarray:
    """Decode to mono float32 (whole file: only for short test files)."""
    cmd = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", str(channels)]
    if rate:
        cmd += ["-ar", str(rate)]
    out = subprocess.run([*cmd, "-f", "f32le", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype=np.float32)


def max_window_error(a: np.ndarray, b: np.ndarray, win: int = 256) -> float:
    """Largest RMS of (a - b) over windows of ``win`` samples (a click shows up here)."""
    n = min(len(a), len(b)) // win * win
    e = (a[:n] - b[:n]).reshape(-1, win)
    return float(np.sqrt((e ** 2).mean(axis=1)).max())


def framecrc(path: Path) -> list[tuple[int, str]]:
    """(size, crc) of every audio packet, read without decoding."""
    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a:0", "-c", "copy",
                          "-f", "framecrc", "-"], capture_output=True, check=True).stdout.decode()
    rows = []
    for line in out.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        rows.append((int(parts[4]), parts[5]))
    return rows
