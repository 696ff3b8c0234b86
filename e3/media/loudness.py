"""Loudness: measure with ``ebur128`` and build the normalization filter.

Design: one cheap ``ebur128=peak=true`` pass measures integrated loudness, range and true peak
(about 9x cheaper than a ``loudnorm`` first pass). Normalization is then a constant gain
(``volume``) to the target, followed by a sample-peak limiter (``alimiter``) set ``margin_db``
below the true-peak target, which leaves room for inter-sample peaks and AAC overshoot. A
constant gain keeps speech dynamics intact (what ``loudnorm linear=true`` does too) and, unlike
dynamic ``loudnorm``, keeps the output sample-exact, which the chunked encoder needs.

Targets: ``AUDIOBOOK`` (-18 LUFS, -1.5 dBTP) and ``YOUTUBE`` (-14 LUFS, -1.0 dBTP).
"""

from __future__ import annotations

import math
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from e3.errors import E3Error
from e3.media.ffmpeg import ffmpeg_exe

AUDIOBOOK = (-18.0, -1.5)
YOUTUBE = (-14.0, -1.0)


class LoudnessError(E3Error):
    """Loudness could not be measured (no audio, or ffmpeg failed)."""


@dataclass(frozen=True)
class Loudness:
    """EBU R128 measurement: integrated loudness (LUFS), true peak (dBTP), loudness range (LU)."""

    integrated_lufs: float
    true_peak_dbtp: float
    lra: float
    threshold_lufs: float | None = None

    def as_dict(self) -> dict[str, float]:
        return {"integrated_lufs": self.integrated_lufs, "true_peak_dbtp": self.true_peak_dbtp,
                "lra": self.lra}


_NUM = r"(-?(?:inf|[\d.]+))"


def parse_ebur128(stderr: str) -> Loudness:
    """Parse the ``Summary:`` block that ``ebur128`` logs when it closes."""
    idx = stderr.rfind("Summary:")
    if idx < 0:
        raise LoudnessError("ebur128 printed no summary (no audio decoded?)")
    s = stderr[idx:]

    def grab(pattern: str) -> float:
        m = re.search(pattern + r"\s*" + _NUM, s)
        if not m:
            raise LoudnessError(f"ebur128 summary lacks {pattern!r}")
        return float(m.group(1))

    return Loudness(integrated_lufs=grab(r"I:"), true_peak_dbtp=grab(r"Peak:"),
                    lra=grab(r"LRA:"), threshold_lufs=grab(r"Threshold:"))


def measure(source: Path | str | list[str], *, pre_filter: str | None = None,
            true_peak: bool = True, timeout: float | None = None) -> Loudness:
    """Measure a file, or ffmpeg input args (e.g. ``["-f", "concat", "-safe", "0", "-i", list]``).

    ``pre_filter`` is applied before measuring (e.g. the concat of several inputs must end in a
    single output labelled ``[a]`` when it is a filter_complex: pass it starting with ``[``).
    Streams: ffmpeg decodes and discards, nothing is held in memory. ``true_peak=False`` reports
    the sample peak instead (ebur128's 4x oversampling costs about half an AAC encode).
    """
    if isinstance(source, (str, Path)):
        if not Path(source).is_file():
            raise LoudnessError(f"{source}: no such file")
        inputs = ["-i", str(source)]
    else:
        inputs = list(source)
    meter = f"ebur128=peak={'true' if true_peak else 'sample'}:framelog=quiet"
    if pre_filter and pre_filter.lstrip().startswith("["):
        graph = ["-filter_complex", f"{pre_filter};[a]{meter}[m]", "-map", "[m]"]
    else:
        chain = f"{pre_filter},{meter}" if pre_filter else meter
        graph = ["-map", "0:a:0", "-af", chain]
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *inputs, *graph, "-f", "null", "-"]
    proc = subprocess.run(cmd, capture_output=True, timeout=timeout)
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise LoudnessError("loudness measure failed: " + " | ".join(err.strip().splitlines()[-4:]))
    return parse_ebur128(err)


def gain_db(measured: Loudness, target_lufs: float) -> float:
    """The constant gain that moves ``measured`` to ``target_lufs`` (0 for silence)."""
    if not math.isfinite(measured.integrated_lufs) or measured.integrated_lufs < -70:
        return 0.0
    return target_lufs - measured.integrated_lufs


def normalize_filter(measured: Loudness, target_lufs: float = -18.0, true_peak: float = -1.5,
                     *, margin_db: float = 1.0) -> str:
    """``volume=..dB`` to the target, plus ``alimiter`` when the gained peak would pass
    ``true_peak - margin_db``. Sample-exact (limiter latency compensated)."""
    g = gain_db(measured, target_lufs)
    parts = [f"volume={g:.3f}dB"]
    ceiling = true_peak - margin_db
    if measured.true_peak_dbtp + g > ceiling:
        limit = max(0.0625, min(1.0, 10 ** (ceiling / 20)))
        parts.append(f"alimiter=limit={limit:.5f}:attack=5:release=60:level=false:latency=true")
    return ",".join(parts)


def loudnorm_filter(measured: Loudness, target_lufs: float = -18.0, true_peak: float = -1.5,
                    lra: float = 11.0) -> str:
    """A ``loudnorm`` second-pass string from measured values (for callers that prefer it).

    ``measured_thresh`` comes from ebur128's gating threshold. Note loudnorm resamples to
    192 kHz internally: follow it with ``aresample`` to the wanted rate.
    """
    thresh = measured.threshold_lufs if measured.threshold_lufs is not None else measured.integrated_lufs - 10
    return (f"loudnorm=I={target_lufs}:TP={true_peak}:LRA={lra}:measured_I={measured.integrated_lufs}"
            f":measured_TP={measured.true_peak_dbtp}:measured_LRA={measured.lra}"
            f":measured_thresh={thresh}:linear=true")
