"""Run a merge plan into one chaptered m4b.

Two paths:

* **copy** (every input is AAC with the same rate, channels and profile, and no loudness target):
  the packets are extracted per file (``-c copy``, in parallel) and appended unchanged, then
  muxed by stream copy. Nothing is decoded or encoded. Each file keeps its own encoder priming
  and padding (as m4b-tool and ``ffmpeg -f concat -c copy`` do), so every join carries up to
  ~2 AAC frames of the files' own edge silence; chapter marks are computed from packet counts so
  they stay exact, and the first file's priming is hidden by an edit list.
* **encode**: the files are one continuous timeline (exact decoded sample counts) cut into
  pieces on the AAC frame grid and encoded in parallel, one ffmpeg per piece, then joined by
  stream copy (see :mod:`e3.media.m4b`): clean joins and a sample-exact duration. With a
  loudness target the timeline is measured once with ebur128 and the gain applied in the same
  single encode. The encode uses ffmpeg's ``-aac_coder fast`` by default: ~1.7x less encoder
  CPU than the default twoloop search on speech, with the same or better SNR against the PCM
  source at 48k/64k mono (measurements in ``bench/merge.py``). It keeps the input's rate
  (<= 48 kHz) and mono stays mono.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from e3.fsutil import atomic_path, work_dir
from e3.media.chapters import ChapterMark, ffmetadata
from e3.media.cover import normalize_cover
from e3.media.ffmpeg import ffmpeg_exe
from e3.media.loudness import measure, normalize_filter
from e3.media.adts import adts_frames
from e3.media.m4b import (FRAME, M4BResult, _Item, _mux, _Timeline, require_chapters,
                          build_m4b, measure_timeline, tag_map)
from e3.merge.plan import InputFile, MergeError, MergePlan

Progress = Callable[[float, float], None]
DEFAULT_AAC_CODER = "fast"  # same or better SNR than twoloop at 64k mono speech, less CPU


def can_copy(files: list[InputFile]) -> bool:
    """True when all inputs are AAC-LC with one sample rate and channel count (HE-AAC frames
    hold 2048 samples and go through the encode path)."""
    return bool(files) and all(f.codec == "aac" and (f.profile or "LC") == "LC" for f in files) and \
        len({(f.sample_rate, f.channels) for f in files}) == 1


def _plan_tags(plan: MergePlan) -> dict[str, str]:
    tags = {"title": plan.title, "author": plan.author, "year": plan.year}
    return {k: v for k, v in tags.items() if v}


_FRAMECRC = re.compile(rb"^\s*0,\s*(-?\d+),\s*(-?\d+),\s*(\d+),")


def _extract(f: InputFile, dest: Path) -> tuple[int, int]:
    """Copy the AAC packets of ``f`` to ADTS; returns (priming samples, packet count)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(f.path),
           "-map", "0:a:0", "-c", "copy", "-f", "adts", "-y", str(dest),
           "-map", "0:a:0", "-c", "copy", "-f", "framecrc", "-"]
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        raise MergeError(f"{f.path}: cannot read its AAC packets: "
                         + proc.stderr.decode("utf-8", "replace").strip()[-200:])
    first_pts = None
    tb_den = f.sample_rate
    for line in proc.stdout.splitlines():
        if line.startswith(b"#tb 0:"):
            num, den = line.split(b":")[1].strip().split(b"/")
            tb_den = int(den) // max(1, int(num))
        m = _FRAMECRC.match(line)
        if m and first_pts is None:
            first_pts = int(m.group(2))
    priming = max(0, -round((first_pts or 0) * f.sample_rate / tb_den))
    return priming, sum(1 for _ in adts_frames(dest))


def _copy_merge(plan: MergePlan, out: Path, workers: int, progress: Progress | None) -> M4BResult:
    files = plan.files
    rate = files[0].sample_rate
    work = work_dir(out.parent, "merge")
    try:
        dests = [work / f"f{i:05d}.aac" for i in range(len(files))]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            info = list(pool.map(_extract, files, dests))
        joined = work / "joined.aac"
        starts: dict[Path, int] = {}
        pos = -info[0][0]  # output time 0 is after the first file's priming
        packets = 0
        estimate = sum(f.duration for f in files)
        with open(joined, "wb") as sink:
            for f, d, (priming, count) in zip(files, dests, info):
                starts[f.path] = max(0, pos + priming)
                with open(d, "rb") as src:
                    shutil.copyfileobj(src, sink)
                d.unlink()
                pos += count * FRAME
                packets += count
                if progress:
                    progress(min(estimate, pos / rate), estimate)
        last_priming, last_count = info[-1]
        padding = last_count * FRAME - last_priming - files[-1].samples
        total = pos - max(0, padding)
        marks = _marks(plan, starts, total, rate)
        meta = work / "meta.txt"
        meta.write_text(ffmetadata(marks, tag_map(_plan_tags(plan))), encoding="utf-8")
        cover_path = None
        if plan.cover:
            cover_path = work / "cover.jpg"
            cover_path.write_bytes(normalize_cover(plan.cover))
        with atomic_path(out) as tmp:
            cmd = _mux(joined, packets, total, rate, meta, cover_path, tmp, priming=info[0][0])
            require_chapters(tmp, marks)
            os.chmod(tmp, 0o644)
        if progress:
            progress(total / rate, total / rate)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return M4BResult(path=out, duration=total / rate, size_bytes=out.stat().st_size, chapters=marks,
                     loudness=None, ffmpeg_command=cmd, reencoded=False, sample_rate=rate,
                     channels=files[0].channels, pieces=len(files))


def _marks(plan: MergePlan, starts: dict[Path, int], total: int, rate: int) -> list[ChapterMark]:
    begins = [starts[files[0].path] for _, files in plan.chapters]
    ends = begins[1:] + [total]
    return [ChapterMark(title, b / rate, e / rate)
            for (title, _), b, e in zip(plan.chapters, begins, ends)]


def auto_piece_seconds(files: list[InputFile], workers: int, base: float = 600.0) -> float:
    """Piece length for the encode: ``base`` seconds, but a long file is cut into at most
    ``workers`` pieces. A piece that starts inside a file decodes that file from its start (an
    exact sample position needs it), so k pieces of one file decode it ~k/2 times over; with
    600 s pieces a 20-hour single MP3 would be decoded ~60 times."""
    longest = max(f.duration for f in files)
    total = sum(f.duration for f in files)
    return max(base, min(longest, total / max(1, workers)))


def run_merge(plan: MergePlan, out: Path | str, *, loudness_target: float | None = None,
              true_peak: float = -1.5, bitrate: str | None = None, workers: int | None = None,
              progress: Progress | None = None, force_encode: bool = False,
              piece_seconds: float | None = None, aac_coder: str | None = DEFAULT_AAC_CODER) -> M4BResult:
    """Write ``plan`` to ``out`` (.m4b, atomically) and return an :class:`M4BResult` whose
    ``reencoded`` says which path ran. ``bitrate`` None picks 64k mono / 96k stereo.
    ``workers`` parallel encodes (default: all cores). ``aac_coder`` is passed to ffmpeg's
    native AAC encoder: "fast" (default), "twoloop" (ffmpeg's own default, slower) or None.
    ``piece_seconds`` None picks :func:`auto_piece_seconds`."""
    out = Path(out)
    if not plan.files:
        raise MergeError("nothing to merge")
    out.parent.mkdir(parents=True, exist_ok=True)
    workers = workers or os.cpu_count() or 1
    if not force_encode and loudness_target is None and can_copy(plan.files):
        return _copy_merge(plan, out, workers, progress)

    rate = max(f.sample_rate for f in plan.files)
    rate = 48000 if rate > 48000 else rate
    channels = min(2, max(f.channels for f in plan.files))
    items, starts, pos = [], {}, 0
    for f in plan.files:
        n = f.samples if f.sample_rate == rate else round(f.samples * rate / f.sample_rate)
        starts[f.path] = pos
        items.append(_Item(f.path, n, (f.codec, f.sample_rate, f.channels, f.bits, f.block)))
        pos += n
    tl = _Timeline(items, rate, channels)
    marks = _marks(plan, starts, tl.total, rate)
    if piece_seconds is None:
        piece_seconds = auto_piece_seconds(plan.files, workers)
    af, measured_in = None, None
    if loudness_target is not None:
        work = work_dir(out.parent, "measure")
        try:
            measured_in = measure_timeline(tl, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        af = normalize_filter(measured_in, loudness_target, true_peak)
    cmd, pieces = build_m4b(tl, marks, _plan_tags(plan), plan.cover, out, af=af,
                            bitrate=bitrate or ("64k" if channels == 1 else "96k"), workers=workers,
                            progress=progress, piece_seconds=piece_seconds, aac_coder=aac_coder)
    loud = measure(out) if loudness_target is not None else None
    return M4BResult(path=out, duration=tl.total / rate, size_bytes=out.stat().st_size, chapters=marks,
                     loudness=loud, ffmpeg_command=cmd, input_loudness=measured_in, reencoded=True,
                     sample_rate=rate, channels=channels, pieces=pieces)
