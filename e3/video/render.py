"""The one fast still-image video renderer.

``render_video(slides, out)`` turns a list of (image, audio) slides into a YouTube-ready MP4:
H.264 High yuv420p (bt709-tagged, closed GOPs) + AAC-LC 48 kHz stereo, ``+faststart``, one chapter
per slide, optional soft (mov_text) or burned-in (libass) subtitles.

How it stays fast (see DESIGN.md "Still-image video"; measured numbers in ``bench/render.py``):

* Video: every still is composited once (Pillow: fit + letterbox on a blurred, darkened copy of
  itself, never stretched), converted once to raw bt709 yuv420p and encoded ONCE as a one-GOP raw
  H.264 clip of ``keyint`` seconds (closed GOP, ``-bf 0``). Each crossfade is its own short clip
  (``xfade`` between the two raw stills; default 0.5 s). The clips are joined at the byte level as
  Annex B: the long still parts are the clip repeated, the last repeat cut at a frame boundary (no
  B-frames, so dropping trailing frames is safe), and the joined stream is piped into one
  stream-copy mux. (The concat demuxer decodes frames of every entry it opens, ~20 ms each: 20 CPU-s
  for the ~900 entries of an hour.) Every clip uses identical x264 settings, so all share one
  SPS/PPS; this is checked, not assumed.
* Audio: each track is decoded once to raw float PCM (exact sample counts, so slide lengths are
  exact); tracks are joined as PCM (optionally with ``acrossfade``); loudness is measured with
  ``ebur128`` (cheap) and applied as a linear gain plus a limiter only when peaks need it. AAC
  (``-aac_coder fast`` by default: ~1.6x cheaper than twoloop, about the same error at 192k) is
  encoded once, in parallel pieces of a few minutes split on AAC frame boundaries: each piece is
  encoded with one second of real audio before and after it, and only the packets whose MDCT
  windows lie wholly on real audio are kept, so the joined packet stream decodes like a single
  encode (no priming/padding click at the joins; ``tests/video/test_render.py`` checks it).
* Scheduling: one pool of ``workers`` threads (default: CPU count), each running one ffmpeg
  process at a time, takes the most urgent ready job first: track decodes, then the loudness pass,
  then AAC pieces, then stills and crossfades; a job is queued only once its inputs exist.
* Everything streams through ffmpeg processes and temp files; Python never holds more than one
  still (or one short clip while indexing its frames) in memory.
* The MP4 is written to a temp name beside ``out`` and renamed at the end (atomic).

Burned-in subtitles (``burn_subtitles=True``) force one full re-encode of every frame (the text
changes the pixels), so they cost roughly the naive single-pass time; soft subtitles cost nothing.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import math
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from e3.errors import E3Error
from e3.fsutil import atomic_path
from e3.media.adts import adts_frames
from e3.media.chapters import ChapterMark, chapter_title, ffmetadata
from e3.media.ffmpeg import FFmpegError, ffmpeg_exe, run_ffmpeg
from e3.media.mp4boxes import chapter_problems

SAMPLE_RATE = 48000
CHANNELS = 2
_BYTES_PER_FRAME = 4 * CHANNELS  # f32le interleaved
_AAC_FRAME = 1024
_PIECE_MARGIN = 48 * _AAC_FRAME  # ~1 s of real audio around each parallel piece
_PIECE_SECONDS = 240  # AAC pieces of <= 4 min: small jobs keep every worker busy to the end
_R_DECODE, _R_MEASURE, _R_AUDIO, _R_VIDEO = range(4)  # job ranks: the audio chain is the critical path
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp")
AUDIO_EXTS = (".mp3", ".m4a", ".aac", ".wav", ".flac", ".ogg", ".opus")
COLOR_TAGS = "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv"


class RenderError(E3Error):
    """The render cannot go on (bad input, or an ffmpeg step failed); the message names the file."""


@dataclass(frozen=True)
class Slide:
    """One image shown for the length of its audio.

    ``audio`` None means silence for ``duration`` seconds. When both are given the audio is padded
    or cut to ``duration``. ``title`` names the chapter (default: the audio or image file stem).
    """

    image: Path
    audio: Path | None = None
    duration: float | None = None
    title: str | None = None


@dataclass
class RenderResult:
    path: Path
    duration: float
    size_bytes: int
    chapters: list[dict]  # [{"title", "start", "end"}] in seconds
    ffmpeg_commands: list[list[str]] = field(default_factory=list)
    video_codec_info: dict = field(default_factory=dict)  # probe_video() of the result


# --------------------------------------------------------------------------------------- helpers

def _natural_key(p: Path):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


class _Log:
    """Thread-safe record of every ffmpeg command run (for render_tasks rows)."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []
        self._lock = threading.Lock()

    def run(self, args: list[str], what: str, stdin_feed: Callable | None = None) -> str:
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *args]
        if stdin_feed is not None:
            cmd.remove("-nostdin")
        with self._lock:
            self.commands.append(cmd)
        if stdin_feed is None:
            proc = subprocess.run(cmd, capture_output=True)
            err = proc.stderr
        else:
            # stream bytes into ffmpeg from a generator; stderr drained by a thread so no deadlock
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
            chunks: list[bytes] = []
            t = threading.Thread(target=lambda: chunks.append(proc.stderr.read()), daemon=True)
            t.start()
            try:
                for block in stdin_feed():
                    proc.stdin.write(block)
            except BrokenPipeError:
                pass
            finally:
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
            proc.wait()
            t.join()
            err = b"".join(chunks)
        if proc.returncode != 0:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-4:]
            raise RenderError(f"{what} failed: " + " | ".join(tail))
        return err.decode("utf-8", "replace")


class _Jobs:
    """``workers`` threads that run the most urgent queued job first (lower rank; FIFO within one).

    Jobs never block on other jobs: a dependent job is queued by ``after`` only once its inputs are
    done, so a pool of any size cannot deadlock. ``close`` cancels what has not started.
    """

    def __init__(self, workers: int) -> None:
        self._q: queue.PriorityQueue = queue.PriorityQueue()
        self._seq = itertools.count()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, daemon=True, name=f"e3render-{k}")
                         for k in range(workers)]
        for t in self._threads:
            t.start()

    def _put(self, rank: float, fut: cf.Future | None, fn: Callable | None, args: tuple) -> None:
        self._q.put((rank, next(self._seq), fut, fn, args))

    def submit(self, rank: int, fn: Callable, *args) -> cf.Future:
        fut: cf.Future = cf.Future()
        self._put(rank, fut, fn, args)
        return fut

    def after(self, deps: Sequence[cf.Future], rank: int, fn: Callable, *args) -> cf.Future:
        """Queue ``fn(*args)`` once every future in ``deps`` is done; a failed input fails it too."""
        fut: cf.Future = cf.Future()
        left = [len(deps)]
        lock = threading.Lock()

        def run():
            for d in deps:
                d.result()  # all done: re-raises the first failed input
            return fn(*args)

        def one_done(_: cf.Future) -> None:
            with lock:
                left[0] -= 1
                ready = left[0] == 0
            if ready:
                self._put(rank, fut, run, ())

        if not deps:
            self._put(rank, fut, run, ())
        for d in deps:
            d.add_done_callback(one_done)
        return fut

    def _work(self) -> None:
        while True:
            _, _, fut, fn, args = self._q.get()
            if fut is None:
                return
            if self._closed:
                fut.cancel()
                continue
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as exc:  # delivered to whoever waits on the future
                fut.set_exception(exc)
            else:
                fut.set_result(result)

    def close(self) -> None:
        """Cancel queued jobs, let running ones (one ffmpeg each) finish, stop the threads."""
        self._closed = True
        for _ in self._threads:
            self._put(math.inf, None, None, ())
        for t in self._threads:
            t.join()
        while True:
            try:
                _, _, fut, _, _ = self._q.get_nowait()
            except queue.Empty:
                break
            if fut is not None:
                fut.cancel()


# --------------------------------------------------------------------------------------- images

def _composite(src: Path, width: int, height: int, background: str):
    """Fit ``src`` into width x height without stretching; fill the rest (blur or a colour)."""
    from PIL import Image, ImageFilter, ImageOps

    try:
        with Image.open(src) as im:
            im.load()
            im = ImageOps.exif_transpose(im).convert("RGB")
    except Exception as exc:  # Pillow raises many types for bad files
        raise RenderError(f"{src}: unreadable image ({exc.__class__.__name__}: {exc})") from None
    if im.size == (width, height):
        return im
    fit = ImageOps.contain(im, (width, height), Image.Resampling.LANCZOS)
    if background == "blur":
        # blur a small copy then upscale: same look as a big radius, a fraction of the cost
        small = ImageOps.fit(im, (max(16, width // 16), max(9, height // 16)), Image.Resampling.BILINEAR)
        small = small.filter(ImageFilter.GaussianBlur(2)).point(lambda v: int(v * 0.45))
        canvas = small.resize((width, height), Image.Resampling.BICUBIC)
    else:
        canvas = Image.new("RGB", (width, height), background)
    canvas.paste(fit, ((width - fit.width) // 2, (height - fit.height) // 2))
    return canvas


def _still_yuv(src: Path, dst: Path, width: int, height: int, background: str, log: _Log) -> None:
    """Composite ``src`` and store it as ONE raw bt709 tv-range yuv420p frame (read by the encoders).

    Raw frames cost no PNG compression here and no PNG decoding/scaling per clip later.
    """
    canvas = _composite(src, width, height, background)
    log.run(["-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-i", "pipe:0",
             "-vf", _colour(width, height), "-frames:v", "1", "-f", "rawvideo", str(dst)],
            what=f"converting {Path(src).name}", stdin_feed=lambda: iter([canvas.tobytes()]))


# --------------------------------------------------------------------------------------- audio

def _decode_track(slide: Slide, dst: Path, log: _Log) -> int:
    """Decode one slide's audio to raw f32le 48 kHz stereo; returns its sample count."""
    if slide.audio is None:
        if not slide.duration or slide.duration <= 0:
            raise RenderError(f"{slide.image}: a slide needs an audio file or a positive duration")
        n = round(slide.duration * SAMPLE_RATE)
        with open(dst, "wb") as fh:
            left = n * _BYTES_PER_FRAME
            zeros = bytes(1 << 20)
            while left > 0:
                fh.write(zeros[: min(left, len(zeros))])
                left -= len(zeros)
        return n
    src = Path(slide.audio)
    if not src.is_file():
        raise RenderError(f"{src}: audio file not found")
    af = f"aresample={SAMPLE_RATE}"
    if slide.duration:
        n = round(slide.duration * SAMPLE_RATE)
        af += f",apad=whole_len={n},atrim=end_sample={n}"
    try:
        log.run(["-v", "error", "-i", str(src), "-vn", "-map", "0:a:0", "-af", af, "-ac", str(CHANNELS),
                 "-f", "f32le", "-c:a", "pcm_f32le", str(dst)], what=f"decoding {src}")
    except RenderError as exc:
        raise RenderError(f"{src}: corrupt or unreadable audio ({str(exc).split(': ', 1)[-1]})") from None
    n = dst.stat().st_size // _BYTES_PER_FRAME
    if n == 0:
        raise RenderError(f"{src}: contains no audio")
    return n


_LUFS = re.compile(r"Integrated loudness:\s*I:\s*(-?[\d.]+|-inf) LUFS", re.S)
_PEAK = re.compile(r"Sample peak:\s*Peak:\s*(-?[\d.]+|-inf) dBFS", re.S)


def _mix_and_measure(raws: list[Path], crossfade_samples: int, measure: bool, mixed: Path,
                     log: _Log) -> tuple[float | None, float | None]:
    """Join the tracks as PCM (acrossfade when asked) into ``mixed``; measure loudness/peak."""
    args = ["-v", "info", "-nostats"]
    for r in raws:
        args += ["-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", str(CHANNELS), "-i", str(r)]
    parts = []
    if len(raws) == 1:
        last = "0:a"
    elif crossfade_samples > 0:
        prev = "0:a"
        for i in range(1, len(raws)):
            parts.append(f"[{prev}][{i}:a]acrossfade=ns={crossfade_samples}:c1=tri:c2=tri[x{i}]")
            prev = f"x{i}"
        last = prev
    else:
        parts.append("".join(f"[{i}:a]" for i in range(len(raws))) + f"concat=n={len(raws)}:v=0:a=1[cat]")
        last = "cat"
    write = crossfade_samples > 0 and len(raws) > 1
    if measure and write:
        parts.append(f"[{last}]asplit=2[w][m];[m]ebur128=peak=sample,anullsink")
        outs = ["-map", "[w]", "-f", "f32le", "-c:a", "pcm_f32le", str(mixed)]
    elif write:
        parts.append(f"[{last}]anull[w]")
        outs = ["-map", "[w]", "-f", "f32le", "-c:a", "pcm_f32le", str(mixed)]
    else:
        parts.append(f"[{last}]ebur128=peak=sample[m]")
        outs = ["-map", "[m]", "-f", "null", "-"]
    err = log.run(args + ["-filter_complex", ";".join(parts)] + outs, what="joining/measuring audio")
    if not measure:
        return None, None
    lufs = _LUFS.search(err)
    peak = _PEAK.search(err)
    if not lufs:
        raise RenderError("loudness measurement failed: no ebur128 summary")
    val = lambda m: -math.inf if m is None or m.group(1) == "-inf" else float(m.group(1))  # noqa: E731
    return val(lufs), val(peak)


def _byte_ranges(segments: list[tuple[Path, int]], start: int, end: int):
    """Yield bytes for sample range [start, end) of the virtual concatenation of raw files."""
    pos = 0
    for path, n in segments:
        a, b = max(start, pos), min(end, pos + n)
        if a < b:
            with open(path, "rb") as fh:
                fh.seek((a - pos) * _BYTES_PER_FRAME)
                left = (b - a) * _BYTES_PER_FRAME
                while left > 0:
                    block = fh.read(min(left, 1 << 20))
                    if not block:
                        break
                    left -= len(block)
                    yield block
        pos += n


def _encode_audio(segments: list[tuple[Path, int]], total: int, gain_db: float, limit: bool,
                  out_adts: Path, workdir: Path, pieces: int, bitrate: str, aac_coder: str,
                  log: _Log, jobs: _Jobs, rank: int) -> list[cf.Future]:
    """Encode the joined PCM to one ADTS stream, in ``pieces`` parallel parts joined cleanly.

    Packet j of an encode starting at sample a covers samples [a+(j-1)*1024, a+(j+1)*1024)
    (the encoder delays by one frame), so a piece keeps packets whose windows lie on real audio.
    """
    af = [f"volume={gain_db:.4f}dB"] if abs(gain_db) > 1e-6 else []
    if limit:
        af.append("alimiter=limit=0.891:level=false:latency=true:attack=5:release=100")
    frames = math.ceil(total / _AAC_FRAME)
    pieces = max(1, min(pieces, frames // (4 * _PIECE_MARGIN // _AAC_FRAME) or 1))
    bounds = [round(frames * k / pieces) * _AAC_FRAME for k in range(pieces)] + [total]
    parts = []
    for k in range(pieces):
        a = max(0, bounds[k] - _PIECE_MARGIN)
        e = total if k == pieces - 1 else min(total, bounds[k + 1] + _PIECE_MARGIN)
        keep_from = (bounds[k] - a) // _AAC_FRAME
        keep_n = None if k == pieces - 1 else (bounds[k + 1] - bounds[k]) // _AAC_FRAME
        dst = workdir / f"audio_{k:02d}.aac"
        args = ["-v", "error", "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", str(CHANNELS), "-i", "pipe:0"]
        if af:
            args += ["-af", ",".join(af)]
        args += ["-c:a", "aac", "-b:a", bitrate, "-aac_coder", aac_coder, "-f", "adts", str(dst)]
        feed = (lambda a=a, e=e: _byte_ranges(segments, a, e))
        fut = jobs.submit(rank, log.run, args, f"encoding audio piece {k + 1}/{pieces}", feed)
        parts.append((fut, dst, keep_from, keep_n))

    def join() -> None:
        with open(out_adts, "wb") as out:
            for _, dst, keep_from, keep_n in parts:
                for j, frame in enumerate(adts_frames(dst)):
                    if j < keep_from:
                        continue
                    if keep_n is not None and j >= keep_from + keep_n:
                        break
                    out.write(frame)
                dst.unlink()

    futs = [f for f, *_ in parts]
    return futs + [jobs.after(futs, rank, join)]


# --------------------------------------------------------------------------------------- video

# x264 analysis that only changes how hard the encoder searches (not the SPS/PPS): stills and fades
# have no motion, so a diamond full-pel search with no sub-pel refinement loses ~0.1 dB PSNR and
# saves ~35% of the encoder's time. Intra 8x8/4x4 stay on for the detail of the stills.
FAST_X264_PARAMS = "subme=0:me=dia:partitions=i8x8,i4x4"


def _x264_args(fps: int, gop: int, preset: str, crf: int, params: str = "") -> list[str]:
    # identical for every clip so all share one SPS/PPS and join by byte concatenation
    x264_params = ":".join(p for p in ("open-gop=0", params) if p)
    return ["-c:v", "libx264", "-preset", preset, "-tune", "stillimage", "-crf", str(crf),
            "-profile:v", "high", "-pix_fmt", "yuv420p", "-bf", "0", "-g", str(gop),
            "-keyint_min", str(gop), "-sc_threshold", "0", "-x264-params", x264_params,
            "-threads", "1", "-r", str(fps),
            "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709",
            "-color_range", "tv"]


def _colour(width: int, height: int) -> str:
    return (f"scale={width}:{height}:out_color_matrix=bt709:out_range=tv,setsar=1,format=yuv420p,"
            + COLOR_TAGS)


def _raw_input(yuv: Path, fps: int, width: int, height: int) -> list[str]:
    return ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-framerate", str(fps),
            "-i", str(yuv)]


# repeat the one decoded frame in the filter graph: re-reading the file (-stream_loop) queues a
# 3 MB packet per frame in the demuxer and costs ~90 MB more per process at 1080p
_HOLD = "loop=loop=-1:size=1"


def _still_clip(yuv: Path, dst: Path, frames: int, fps: int, width: int, height: int,
                x264: list[str], log: _Log) -> None:
    """One GOP of a raw still as raw H.264 (Annex B): an IDR, then P-frames."""
    log.run(["-v", "error", *_raw_input(yuv, fps, width, height),
             "-vf", f"{_HOLD},{COLOR_TAGS}", "-frames:v", str(frames), *x264,
             "-an", "-f", "h264", str(dst)], what=f"encoding still {yuv.stem}")


def _transition_clip(a: Path, b: Path, dst: Path, frames: int, fps: int, width: int, height: int,
                     x264: list[str], log: _Log) -> None:
    """``frames`` frames fading from raw still ``a`` to raw still ``b`` (first frame is ``a``)."""
    graph = (f"[0]{_HOLD}[a];[1]{_HOLD}[b];[a][b]xfade=transition=fade:duration={frames / fps:.6f}:offset=0,"
             f"format=yuv420p,{COLOR_TAGS}")
    log.run(["-v", "error", *_raw_input(a, fps, width, height), *_raw_input(b, fps, width, height),
             "-filter_complex", graph, "-frames:v", str(frames), *x264, "-an", "-f", "h264", str(dst)],
            what=f"encoding crossfade {a.stem} -> {b.stem}")


@dataclass(frozen=True)
class _Clip:
    """A raw H.264 clip: where each frame (access unit) starts, and its parameter sets."""

    path: Path
    starts: list[int]  # byte offset of each access unit, in decoding order
    size: int
    param_sets: bytes  # SPS + PPS payloads, to prove every clip can share one decoder setup

    def cut(self, frames: int) -> int:
        """Bytes holding the first ``frames`` frames (a prefix of a P-only GOP decodes alone)."""
        return self.starts[frames] if frames < len(self.starts) else self.size


def _index_clip(path: Path, expect: int) -> _Clip:
    """Find the access units of an x264 Annex B clip (one slice per frame, threads=1).

    Start codes (00 00 01) cannot occur inside a NAL unit (emulation prevention), so splitting on
    them is exact. A picture starts at a slice whose first_mb_in_slice is 0 (ue(v) 0 = bit '1'),
    together with the SEI/SPS/PPS/AUD units right before it.
    """
    data = path.read_bytes()  # one short clip (a GOP), dropped on return
    starts: list[int] = []
    params: list[bytes] = []
    pending = None
    pos = data.find(b"\x00\x00\x01")
    while pos != -1 and pos + 3 < len(data):
        begin = pos - 1 if pos > 0 and data[pos - 1] == 0 else pos
        nxt = data.find(b"\x00\x00\x01", pos + 3)
        kind = data[pos + 3] & 0x1F
        if kind in (1, 5):
            if pos + 4 < len(data) and data[pos + 4] & 0x80:
                starts.append(pending if pending is not None else begin)
            pending = None
        else:
            if pending is None:
                pending = begin
            if kind in (7, 8):
                params.append(data[pos + 3: len(data) if nxt == -1 else nxt].rstrip(b"\x00"))
        pos = nxt
    if len(starts) != expect or not starts or starts[0] != 0 or not params:
        raise RenderError(f"{path.name}: expected {expect} H.264 frames with SPS/PPS, "
                          f"found {len(starts)} (x264 output not understood)")
    return _Clip(path, starts, len(data), b"".join(params))


def _clip_bytes(parts: list[tuple[Path, int]], block: int = 1 << 20):
    """Stream the first ``n`` bytes of each clip in ``parts``, in order: the joined Annex B video."""
    for path, n in parts:
        with open(path, "rb") as fh:
            while n > 0:
                chunk = fh.read(min(n, block))
                if not chunk:
                    raise RenderError(f"{path.name}: clip is shorter than its index")
                n -= len(chunk)
                yield chunk


def _hold_chunks(hold: int, gop: int) -> list[int]:
    """Split ``hold`` frames into GOP repeats; never end on a lone 1-frame GOP (IDR right after IDR)."""
    chunks = [gop] * (hold // gop) + ([hold % gop] if hold % gop else [])
    if len(chunks) >= 2 and chunks[-1] == 1 and gop > 2:
        chunks[-2:] = [gop - 1, 2]
    return chunks


# --------------------------------------------------------------------------------------- main

def render_video(slides: Sequence[Slide], out: Path, *, width: int = 1920, height: int = 1080,
                 fps: int = 24, crossfade: float = 0.5, chapters: bool = True,
                 subtitles: Path | None = None, burn_subtitles: bool = False,
                 audio_gain_db: float | None = None, loudness_target: float | None = None,
                 audio_crossfade: float = 0.0, workers: int | None = None,
                 progress: Callable[[float, str], None] | None = None,
                 workdir: Path | None = None, keyint: int = 4, preset: str = "veryfast",
                 crf: int = 20, audio_bitrate: str = "192k", aac_coder: str = "fast",
                 background: str = "blur", x264_params: str = FAST_X264_PARAMS) -> RenderResult:
    """Render ``slides`` to an MP4 at ``out`` (atomically) and return what was made.

    - Each image shows for its audio's length (exact, from decoded samples); ``crossfade`` seconds
      of picture crossfade centred on each boundary (0 disables). ``audio_crossfade`` overlaps
      consecutive tracks by that many seconds (acrossfade), shortening the total accordingly.
    - ``loudness_target`` (LUFS, e.g. -14 for YouTube): measured with ebur128, applied as a
      linear gain; a limiter (-1 dBFS) is added only if the gained peaks would exceed it.
      ``audio_gain_db`` adds a fixed gain on top (or alone).
    - ``subtitles``: an SRT/ASS file; soft mov_text track, or burned in (``burn_subtitles``,
      which re-encodes every frame: slow, like a naive render).
    - ``keyint`` seconds per GOP decides file size (one IDR per ``keyint`` s); ``preset``/``crf``
      are x264's, ``x264_params`` extra x264 options for every clip (default: the cheap motion
      search of ``FAST_X264_PARAMS``; "" for the preset's own). ``aac_coder`` "fast" (default) or
      "twoloop" (~1.6x the CPU). ``workers`` = parallel ffmpeg jobs (default: CPU count).
    - ``progress(fraction, message)`` is called as jobs finish.

    Raises RenderError (bad/mismatched input, naming the file; or an ffmpeg failure).
    """
    out = Path(out)
    slides = list(slides)
    if not slides:
        raise RenderError("nothing to render: no slides")
    if fps not in (24, 25, 30, 48, 50, 60):
        raise RenderError(f"unsupported fps {fps} (use 24 or 30)")
    if width % 2 or height % 2 or width < 16 or height < 16:
        raise RenderError(f"bad size {width}x{height}: width and height must be even and >= 16")
    for s in slides:
        if not Path(s.image).is_file():
            raise RenderError(f"{s.image}: image file not found")
        if s.audio is not None and not Path(s.audio).is_file():
            raise RenderError(f"{s.audio}: audio file not found")
    if subtitles is not None and not Path(subtitles).is_file():
        raise RenderError(f"{subtitles}: subtitle file not found")
    workers = workers or os.cpu_count() or 2
    work = Path(tempfile.mkdtemp(prefix="e3render.", dir=workdir or out.parent))
    log = _Log()
    n = len(slides)
    done = [0]
    total_jobs = [1]
    lock = threading.Lock()

    def tick(msg: str) -> None:
        if progress:
            with lock:
                done[0] += 1
                progress(min(1.0, done[0] / total_jobs[0]), msg)

    gop = keyint * fps
    x264 = _x264_args(fps, gop, preset, crf, x264_params)
    raws = [work / f"track_{i:03d}.f32" for i in range(n)]
    yuvs = [work / f"still_{i:03d}.yuv" for i in range(n)]
    clips = [work / f"still_{i:03d}.h264" for i in range(n)]
    trans = [work / f"xfade_{i:03d}.h264" for i in range(n)]
    jobs = _Jobs(workers)
    try:
        try:
            total_jobs[0] = 4 * n + 3  # refined once the timeline is planned
            # 1. decode tracks (needed to plan) first; stills wait behind them and the audio work
            raw_futs = [jobs.submit(_R_DECODE, _decode_track, s, raws[i], log) for i, s in enumerate(slides)]

            def still(i: int) -> _Clip:
                _still_yuv(Path(slides[i].image), yuvs[i], width, height, background, log)
                _still_clip(yuvs[i], clips[i], gop, fps, width, height, x264, log)
                clip = _index_clip(clips[i], gop)
                tick(f"still {i + 1}/{n}")
                return clip

            still_futs = [jobs.submit(_R_VIDEO, still, i) for i in range(n)]
            counts = [f.result() for f in raw_futs]
            for _ in counts:
                tick("audio decoded")

            # 2. plan the timeline in samples, then frames
            xs = round(audio_crossfade * SAMPLE_RATE) if n > 1 else 0
            if xs and min(counts) <= 2 * xs:
                raise RenderError(f"audio_crossfade {audio_crossfade}s is longer than half a track")
            starts = [sum(counts[:i]) - i * xs for i in range(n)]
            total = sum(counts) - (n - 1) * xs
            bounds_s = [0] + [starts[i] + xs // 2 for i in range(1, n)] + [total]
            nframes = max(1, round(total * fps / SAMPLE_RATE))
            fb = [0] + [round(b * fps / SAMPLE_RATE) for b in bounds_s[1:-1]] + [nframes]
            seg = [fb[i + 1] - fb[i] for i in range(n)]
            if min(seg) < 1:
                raise RenderError("a slide is shorter than one video frame")
            xf = round(crossfade * fps) if n > 1 else 0
            xf = min(xf, min(seg) // 2)  # never eat a whole slide
            xf = 0 if xf < 2 else xf

            # 3. crossfade clips: queued as soon as both stills exist
            trans_futs: list[cf.Future] = []
            if xf:
                def transition(i: int) -> _Clip:
                    _transition_clip(yuvs[i - 1], yuvs[i], trans[i], xf, fps, width, height, x264, log)
                    clip = _index_clip(trans[i], xf)
                    tick(f"crossfade {i}/{n - 1}")
                    return clip

                trans_futs = [jobs.after([still_futs[i - 1], still_futs[i]], _R_VIDEO, transition, i)
                              for i in range(1, n)]

            # 4. audio: join + measure, then parallel AAC pieces (ahead of the video jobs still queued)
            measure = loudness_target is not None
            pieces = max(workers, math.ceil(total / (SAMPLE_RATE * _PIECE_SECONDS)))
            total_jobs[0] = 2 * n + (n - 1 if xf else 0) + (1 if measure or xs else 0) + 2
            mixed = work / "mixed.f32"
            lufs = peak = None
            if measure or (xs and n > 1):
                lufs, peak = jobs.submit(_R_MEASURE, _mix_and_measure, raws, xs, measure, mixed, log).result()
                tick("audio measured")
            segments = [(mixed, total)] if (xs and n > 1) else list(zip(raws, counts))
            gain = audio_gain_db or 0.0
            if measure and lufs is not None and math.isfinite(lufs):
                gain += loudness_target - lufs
            limit = peak is not None and math.isfinite(peak) and peak + gain > -1.0
            audio_adts = work / "audio.aac"
            audio_futs = _encode_audio(segments, total, gain, limit, audio_adts, work, pieces,
                                       audio_bitrate, aac_coder, log, jobs, _R_AUDIO)

            # first failure wins (later jobs are cancelled by close())
            for f in cf.as_completed(still_futs + trans_futs + audio_futs):
                f.result()
            tick("audio encoded")
            still_clips = [f.result() for f in still_futs]
            trans_clips = [None] + [f.result() for f in trans_futs]
        finally:
            jobs.close()
        for c in still_clips[1:] + trans_clips[1:]:
            if c.param_sets != still_clips[0].param_sets:  # would need in-band SPS/PPS changes
                raise RenderError(f"{c.path.name}: its SPS/PPS differ from the other clips' "
                                  f"(x264 settings must be identical for every clip)")

        # 5. the joined video: each transition whole, each still clip repeated, the last repeat cut
        parts: list[tuple[Path, int]] = []
        for i in range(n):
            lead = 0 if i == 0 else xf - xf // 2
            trail = 0 if i == n - 1 else xf // 2
            if i > 0 and xf:
                parts.append((trans[i], trans_clips[i].size))
            for frames in _hold_chunks(seg[i] - lead - trail, gop):
                parts.append((clips[i], still_clips[i].cut(frames)))

        marks = [ChapterMark(s.title or Path(s.audio or s.image).stem.replace("_", " "),
                             bounds_s[i] / SAMPLE_RATE, bounds_s[i + 1] / SAMPLE_RATE)
                 for i, s in enumerate(slides)]
        chap = [{"title": m.title, "start": round(m.start, 3), "end": round(m.end, 3)} for m in marks]
        (work / "chapters.txt").write_text(ffmetadata(marks), encoding="utf-8")

        # 6. final mux (stream copy; burn-in re-encodes the video)
        duration = total / SAMPLE_RATE
        args = ["-v", "error", "-framerate", str(fps), "-f", "h264", "-i", "pipe:0",
                # the AAC stream starts with the encoder's one-frame priming: shift it out
                "-itsoffset", f"{-_AAC_FRAME / SAMPLE_RATE:.6f}", "-f", "aac", "-i", str(audio_adts),
                "-f", "ffmetadata", "-i", str(work / "chapters.txt")]
        maps = ["-map", "0:v:0", "-map", "1:a:0", "-map_metadata", "2",
                "-map_chapters", "2" if chapters else "-1"]
        if subtitles is not None and not burn_subtitles:
            args += ["-i", str(subtitles)]
            # A millisecond subtitle timebase: with the default one FFmpeg 9 writes a chapter track
            # that reads back with wrong titles and times next to mov_text.
            maps += ["-map", "3:s:0", "-c:s", "mov_text", "-time_base:s", "1:1000"]
        if burn_subtitles and subtitles is not None:
            sub = str(subtitles).replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")
            vcodec = ["-vf", f"subtitles='{sub}',format=yuv420p,{COLOR_TAGS}",
                      *[a if a != "1" or x264[k - 1] != "-threads" else str(workers)
                        for k, a in enumerate(x264)]]
        else:
            vcodec = ["-c:v", "copy"]
        video_clock = SAMPLE_RATE if SAMPLE_RATE % fps == 0 else fps * 1000
        with atomic_path(out) as tmp:
            # The QuickTime chapter track's clock is the least common multiple of the packet
            # time bases (raw H.264 1/1200000, ADTS 1/28224000) and a chapter over 2^31 ticks is
            # dropped: one 48 kHz clock for both tracks allows chapters of 12 hours.
            log.run(args + maps + vcodec + ["-bsf:v", f"setts=time_base=1/{video_clock}",
                                            "-c:a", "copy", "-bsf:a", f"setts=time_base=1/{SAMPLE_RATE}",
                                            "-t", f"{duration:.6f}",
                                            "-video_track_timescale", str(video_clock),
                                            "-movflags", "+faststart", "-f", "mp4", str(tmp)],
                    what=f"muxing {out.name}", stdin_feed=lambda: _clip_bytes(parts))
            if chapters:
                problems = chapter_problems(tmp, [(chapter_title(c["title"]), c["start"]) for c in chap])
                if problems:
                    raise RenderError(f"{out.name}: chapters were not written as planned: {problems[0]}")
        if progress:
            progress(1.0, "muxed")
        info = probe_video(out)
        return RenderResult(path=out, duration=info.get("duration") or duration,
                            size_bytes=out.stat().st_size, chapters=chap if chapters else [],
                            ffmpeg_commands=log.commands, video_codec_info=info)
    except FFmpegError as exc:
        raise RenderError(str(exc)) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def render_folder(images_dir: Path, audio_dir: Path, out: Path, fps: int = 24, **kw) -> RenderResult:
    """Render a folder of images against a folder of tracks, matched in natural sorted order.

    Images: png/jpg/jpeg/webp; audio: mp3/m4a/aac/wav/flac/ogg/opus. Chapter titles come from the
    audio file names. The counts must match. Other keywords go to ``render_video``.
    (Backs ``e3 video render --images DIR --audio DIR -o OUT.mp4 [--fps N]``.)
    """
    images_dir, audio_dir = Path(images_dir), Path(audio_dir)
    for d in (images_dir, audio_dir):
        if not d.is_dir():
            raise RenderError(f"{d}: not a folder")
    images = sorted((p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_EXTS and p.is_file()),
                    key=_natural_key)
    tracks = sorted((p for p in audio_dir.iterdir() if p.suffix.lower() in AUDIO_EXTS and p.is_file()),
                    key=_natural_key)
    if not images:
        raise RenderError(f"{images_dir}: no images (png/jpg/jpeg/webp)")
    if not tracks:
        raise RenderError(f"{audio_dir}: no audio tracks (mp3/m4a/aac/wav/flac/ogg/opus)")
    if len(images) != len(tracks):
        extra = images[len(tracks)] if len(images) > len(tracks) else tracks[len(images)]
        raise RenderError(f"{len(images)} images but {len(tracks)} tracks: {extra} has no partner")
    slides = [Slide(image=i, audio=a, title=re.sub(r"^\d+[\s._-]*", "", a.stem).replace("_", " ") or a.stem)
              for i, a in zip(images, tracks)]
    return render_video(slides, Path(out), fps=fps, **kw)


# --------------------------------------------------------------------------------------- probing

_VIDEO = re.compile(r"Stream #\d+:\d+.*?: Video: (\w+)(?: \(([^)]*)\))?.*?, (\w+)(?:\(([^)]*)\))?, "
                    r"(\d+)x(\d+)")
_AUDIO = re.compile(r"Stream #\d+:\d+.*?: Audio: (\w+)(?: \(([^)]*)\))?.*?, (\d+) Hz, ([\w.()]+)")
_FPS = re.compile(r", ([\d.]+) fps")
_DUR = re.compile(r"Duration: (\d+):(\d+):([\d.]+)")
_CHAP = re.compile(r"Chapter #\d+:\d+: start ([\d.]+), end ([\d.]+)\s*\n\s*Metadata:\s*\n\s*title\s*: ([^\n]*)")


def probe_video(path: Path) -> dict:
    """Stream facts from ``ffmpeg -i`` (there is no ffprobe).

    Keys: codec, profile, pix_fmt, width, height, fps, color_range, color_space, color_primaries,
    color_trc, audio_codec, audio_profile, sample_rate, channels, duration, subtitle_codec,
    chapters ([{"title", "start", "end"}]). Missing facts are None.
    """
    path = Path(path)
    if not path.is_file():
        raise RenderError(f"{path}: no such file")
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True)
    text = proc.stderr.decode("utf-8", "replace")
    info: dict = dict.fromkeys(["codec", "profile", "pix_fmt", "width", "height", "fps", "color_range",
                                "color_space", "color_primaries", "color_trc", "audio_codec",
                                "audio_profile", "sample_rate", "channels", "duration",
                                "subtitle_codec"])
    m = _DUR.search(text)
    if m:
        info["duration"] = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
    for line in text.splitlines():
        if "Video:" in line and info["codec"] is None:
            v = _VIDEO.search(line)
            if v:
                info.update(codec=v[1], profile=v[2], pix_fmt=v[3], width=int(v[5]), height=int(v[6]))
                tags = [t.strip() for t in (v[4] or "").split(",")]
                if tags and tags[0] in ("tv", "pc"):
                    info["color_range"] = tags.pop(0)
                if tags and tags[0] not in ("progressive", "top first", "bottom first", "top coded first (swapped)"):
                    spec = tags[0].split("/")
                    info["color_space"] = spec[0]
                    info["color_primaries"] = spec[1] if len(spec) == 3 else spec[0]
                    info["color_trc"] = spec[2] if len(spec) == 3 else spec[0]
            f = _FPS.search(line)
            if f:
                info["fps"] = float(f[1])
        elif "Audio:" in line and info["audio_codec"] is None:
            a = _AUDIO.search(line)
            if a:
                info.update(audio_codec=a[1], audio_profile=a[2], sample_rate=int(a[3]), channels=a[4])
        elif "Subtitle:" in line and info["subtitle_codec"] is None:
            s = re.search(r"Subtitle: (\w+)", line)
            info["subtitle_codec"] = s[1] if s else None
    info["chapters"] = [{"title": t.strip(), "start": float(a), "end": float(b)}
                        for a, b, t in _CHAP.findall(text)]
    if info["codec"] is None and info["audio_codec"] is None:
        raise RenderError(f"{path}: not a readable media file")
    return info
