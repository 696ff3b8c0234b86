"""Chaptered m4b assembly: AAC encoded once, streamed, in parallel pieces joined without clicks.

Design (why it is shaped like this):

* The book is a *timeline* of audio files (chunks, plus pre-made silence files for the pauses).
  Every file's exact sample count is known up front (FLAC/WAV headers, else a decode count), so
  chapter marks come from real sample counts, never from text guesses.
* The timeline is cut into pieces at multiples of 1024 samples (one AAC frame). Each piece is one
  ffmpeg process (a thread pool runs ``workers`` at a time) that decodes only the files it
  covers, renumbers samples (``asetpts=N/SR/TB``), trims to the piece plus a few frames of
  pre-roll and post-roll, applies the loudness filter and encodes AAC to ADTS. The native
  encoder always delays by exactly 1024 samples, so packet *j* of a piece holds input samples
  ``[start + (j-1)*1024, start + j*1024)``. Keeping only each piece's own packets gives a single
  continuous AAC stream on one frame grid: neighbouring frames at a join are MDCTs of the same
  signal on the same grid, so aliasing cancels and the joins are as clean as a one-pass encode
  (tests compare both against the PCM reference). This is encoding once: no decode/re-encode.
* The pieces' packets are appended to one ADTS file, then muxed (stream copy) into the m4b with
  the FFMETADATA chapters/tags and the cover. ``-itsoffset`` of one frame makes the muxer write
  an edit list that hides the encoder priming, and the last packet's duration is set to the real
  remainder, so the file's duration is sample-exact.
* Memory is bounded by one piece per worker (a few MB of ADTS) and ffmpeg's own buffers;
  it does not grow with book length.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import subprocess
import threading
import wave
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace, dataclass, field
from pathlib import Path

from e3.errors import E3Error
from e3.fsutil import atomic_path, work_dir
from e3.media.adts import adts_frames
from e3.media.chapters import ChapterMark, chapter_title, ffmetadata
from e3.media.cover import normalize_cover
from e3.media.ffmpeg import FFmpegError, ffmpeg_exe, run_ffmpeg
from e3.media.loudness import Loudness, measure, normalize_filter

FRAME = 1024  # AAC-LC samples per frame; also the native encoder's priming delay
PRE_ROLL = 4 * FRAME
POST_ROLL = 2 * FRAME
MAX_FILES_PER_PIECE = 96  # per-file inputs (mixed formats) are all open at once

Progress = Callable[[float, float], None]


class M4BError(E3Error):
    """The m4b cannot be assembled from these inputs."""


@dataclass(frozen=True)
class Segment:
    """One narrated chunk file, the silence after it (seconds) and its chapter (0-based)."""

    path: Path
    pause_after: float = 0.0
    chapter_index: int = 0


@dataclass
class M4BResult:
    """What was written. ``duration`` is exact (samples / rate); ``loudness`` is measured on the
    written file (None when loudness was not requested and not measured)."""

    path: Path
    duration: float
    size_bytes: int
    chapters: list[ChapterMark]
    loudness: Loudness | None
    ffmpeg_command: list[str]
    input_loudness: Loudness | None = None
    reencoded: bool = True
    sample_rate: int = 0
    channels: int = 0
    pieces: int = 0


# --------------------------------------------------------------------------------------------
# Probing

@dataclass(frozen=True)
class AudioInfo:
    """Exact facts about one audio file (``samples`` at its own ``sample_rate``)."""

    path: Path
    samples: int
    sample_rate: int
    channels: int
    codec: str
    profile: str | None = None
    bitrate: int | None = None
    bits: int = 0  # PCM/FLAC bit depth (0 = lossy/unknown); the concat demuxer needs it equal
    block: int = 0  # FLAC max block size: the concat demuxer decodes with the first file's

    @property
    def duration(self) -> float:
        return self.samples / self.sample_rate


_STREAM = re.compile(r"Stream #\d+:\d+[^:]*: Audio: (\w+)(?: \(([^)]*)\))?[^,]*, (\d+) Hz, ([^,]+), "
                     r"(\w+)(?:, (\d+) kb/s)?")
_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}


def stream_info(path: Path) -> tuple[str, str | None, int, int, int | None]:
    """(codec, profile, sample_rate, channels, bitrate) of the first audio stream via ``ffmpeg -i``."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
                          capture_output=True)
    text = proc.stderr.decode("utf-8", "replace")
    m = _STREAM.search(text)
    if not m:
        raise FFmpegError(f"{path.name}: no audio stream found (corrupt or not audio)")
    codec, profile, rate, layout, _fmt, kbps = m.groups()
    layout = layout.strip()
    ch = _CHANNELS.get(layout)
    if ch is None:
        cm = re.match(r"(\d+) channels", layout)
        ch = int(cm.group(1)) if cm else 2
    return codec, profile, int(rate), ch, int(kbps) * 1000 if kbps else None


def count_samples(path: Path) -> int:
    """Decode the first audio stream and count its samples (honours gapless MP3/AAC trims)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0",
           "-ac", "1", "-f", "u8", "-"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    total = 0
    assert proc.stdout is not None
    while chunk := proc.stdout.read(1 << 20):
        total += len(chunk)
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    proc.wait()
    if proc.returncode != 0 or total == 0:
        tail = " | ".join(err.strip().splitlines()[-2:]) or "decoded no audio"
        raise FFmpegError(f"{path.name}: cannot be decoded: {tail}")
    return total


def probe_audio(path: Path | str, *, exact: bool = True) -> AudioInfo:
    """Exact sample count and stream facts. WAV/FLAC read headers; others decode to count."""
    path = Path(path)
    if not path.is_file():
        raise FFmpegError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".wav":
        with contextlib.suppress(wave.Error, EOFError):
            with wave.open(str(path), "rb") as w:
                if w.getnframes() > 0:
                    bits = 8 * w.getsampwidth()
                    return AudioInfo(path, w.getnframes(), w.getframerate(), w.getnchannels(),
                                     f"pcm_s{bits}le" if bits > 8 else "pcm_u8", bits=bits)
    if suffix == ".flac":
        with contextlib.suppress(Exception):
            from mutagen.flac import FLAC

            info = FLAC(str(path)).info
            if info.total_samples > 0:
                return AudioInfo(path, int(info.total_samples), int(info.sample_rate),
                                 int(info.channels), "flac", bits=int(info.bits_per_sample),
                                 block=int(info.max_blocksize))
    codec, profile, rate, ch, br = stream_info(path)
    if exact:
        samples = count_samples(path)
    else:
        from e3.media.ffmpeg import probe_duration

        samples = int(round(probe_duration(path) * rate))
    return AudioInfo(path, samples, rate, ch, codec, profile, br)


# --------------------------------------------------------------------------------------------
# The chunked AAC encoder

@dataclass(frozen=True)
class _Item:
    path: Path
    samples: int  # at the timeline rate
    fmt: tuple  # (codec, rate, channels, bits, block): the concat demuxer needs these equal


def _layout(channels: int) -> str:
    return "mono" if channels == 1 else "stereo"


def _ffconcat_line(path: Path) -> str:
    return "file '" + str(path.resolve()).replace("'", "'\\''") + "'\n"


def _plan_pieces(offsets: list[int], total: int, piece_samples: int, uniform: bool) -> list[int]:
    """Boundaries (multiples of FRAME, first 0, last ``total``) near ``piece_samples`` apart."""
    bounds = [0]
    files_in_piece = 0
    for off in offsets[1:]:
        files_in_piece += 1
        # Cut just after the file's first PRE_ROLL samples: the next piece's pre-roll then comes
        # from this file, not the previous one (decoding a 6-minute MP3 for 4096 samples cost
        # ~20% of a merge with the fast coder). The piece before reads those few samples only.
        cut = -(-(off + PRE_ROLL) // FRAME) * FRAME
        long_enough = cut - bounds[-1] >= piece_samples
        too_many = not uniform and files_in_piece >= MAX_FILES_PER_PIECE
        if (long_enough or too_many) and cut > bounds[-1] + PRE_ROLL and cut < total - FRAME:
            bounds.append(cut)
            files_in_piece = 0
    # Long single files: split inside them too (a piece may start mid-file).
    out = [0]
    for end in bounds[1:] + [total]:
        start = out[-1]
        n = max(1, round((end - start) / max(piece_samples, FRAME) - 0.25))
        step = ((end - start) // n // FRAME) * FRAME
        for i in range(1, n):
            if step > 0:
                out.append(start + i * step)
        out.append(end)
    return out


@dataclass
class _Timeline:
    items: list[_Item]
    rate: int
    channels: int
    offsets: list[int] = field(init=False)
    total: int = field(init=False)

    def __post_init__(self):
        self.offsets, acc = [], 0
        for it in self.items:
            self.offsets.append(acc)
            acc += it.samples
        self.total = acc

    @property
    def uniform(self) -> bool:
        return len({it.fmt for it in self.items}) == 1

    def input_args(self, a: int, b: int, workdir: Path, tag: str) -> tuple[list[str], str]:
        """ffmpeg input args for items a..b-1 and a filter prefix ending in one audio stream."""
        conv = f"aresample={self.rate},aformat=sample_fmts=fltp:channel_layouts={_layout(self.channels)}"
        if self.uniform:
            lst = workdir / f"{tag}.ffconcat"
            with open(lst, "w", encoding="utf-8") as fh:
                fh.write("ffconcat version 1.0\n")
                for it in self.items[a:b]:
                    fh.write(_ffconcat_line(it.path))
            return ["-f", "concat", "-safe", "0", "-i", str(lst)], f"[0:a]{conv}"
        args, labels, graph = [], [], []
        for k, it in enumerate(self.items[a:b]):
            args += ["-i", str(it.path)]
            graph.append(f"[{k}:a]{conv}[i{k}]")
            labels.append(f"[i{k}]")
        if len(labels) == 1:
            return args, f"[0:a]{conv}"
        return args, ";".join(graph) + ";" + "".join(labels) + f"concat=n={len(labels)}:v=0:a=1"

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Indices a, b of the items overlapping samples [start, end)."""
        import bisect

        a = max(0, bisect.bisect_right(self.offsets, start) - 1)
        b = bisect.bisect_left(self.offsets, end)
        return a, max(b, a + 1)


def _encode_pieces(tl: _Timeline, joined: Path, workdir: Path, *, bitrate: str, af: str | None,
                   workers: int, piece_seconds: float, progress: Progress | None,
                   aac_coder: str | None) -> int:
    """Encode the timeline to one ADTS file; returns the number of AAC packets."""
    bounds = _plan_pieces(tl.offsets, tl.total, int(piece_seconds * tl.rate), tl.uniform)
    npieces = len(bounds) - 1
    lock = threading.Lock()
    done = [0]

    def encode(k: int) -> Path:
        s = max(0, bounds[k] - PRE_ROLL)
        e = min(tl.total, bounds[k + 1] + POST_ROLL)
        a, b = tl.span(s, e)
        inputs, prefix = tl.input_args(a, b, workdir, f"p{k}")
        local = tl.offsets[a]
        chain = (f"{prefix},asetpts=N/SR/TB,atrim=start_sample={s - local}:end_sample={e - local},"
                 f"asetpts=N/SR/TB")
        if af:
            chain += f",{af}"
        out = workdir / f"p{k:05d}.aac"
        args = ["-threads", "1", *inputs, "-filter_complex", chain + "[out]", "-map", "[out]",
                "-c:a", "aac", "-b:a", bitrate]
        if aac_coder:
            args += ["-aac_coder", aac_coder]
        run_ffmpeg([*args, "-f", "adts", "-y", str(out)], what=f"AAC encode of piece {k + 1}/{npieces}")
        if progress:
            with lock:
                done[0] += bounds[k + 1] - bounds[k]
                progress(done[0] / tl.rate, tl.total / tl.rate)
        return out

    packets = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, open(joined, "wb") as sink:
        futures = [pool.submit(encode, k) for k in range(npieces)]
        try:
            for k, fut in enumerate(futures):
                piece = fut.result()
                frames = list(adts_frames(piece))
                s = max(0, bounds[k] - PRE_ROLL)
                j0 = 0 if k == 0 else (bounds[k] - s) // FRAME + 1
                j1 = len(frames) if k == npieces - 1 else (bounds[k + 1] - s) // FRAME + 1
                e = min(tl.total, bounds[k + 1] + POST_ROLL)
                planned = -(-(e - s) // FRAME) + 1  # the native encoder adds one priming frame
                if len(frames) != planned:
                    a, b = tl.span(s, e)
                    names = ", ".join(it.path.name for it in tl.items[a:b][:3])
                    raise M4BError(f"piece {k + 1} of {npieces} decoded to {len(frames)} AAC frames, "
                                   f"not the {planned} its files declare (files {names}...): "
                                   f"a file is shorter than its header says or does not decode")
                for fr in frames[j0:j1]:
                    sink.write(fr)
                packets += j1 - j0
                piece.unlink()
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return packets


def _mux(joined: Path, packets: int, total: int, rate: int, meta_file: Path, cover: Path | None,
         out: Path, priming: int = FRAME) -> list[str]:
    """Stream-copy the ADTS packets into an m4b; ``priming`` leading samples are hidden by an edit
    list and the last packet is cut so exactly ``total`` samples play."""
    last_dur = max(1, min(FRAME, total + priming - (packets - 1) * FRAME))
    args = ["-itsoffset", f"-{priming / rate:.9f}", "-i", str(joined), "-f", "ffmetadata",
            "-i", str(meta_file)]
    maps = ["-map", "0:a:0", "-map_metadata", "1", "-map_chapters", "1"]
    if cover is not None:
        args += ["-i", str(cover)]
        maps += ["-map", "2:v:0", "-c:v", "copy", "-disposition:v:0", "attached_pic"]
    cmd = [*args, *maps, "-c:a", "copy",
           # time_base: ADTS packets carry a 1/28224000 clock, which the muxer gives the
           # QuickTime chapter track too, and any chapter over 2^31 ticks (76 s) is dropped.
           "-bsf:a", f"setts=duration='if(eq(N,{packets - 1}),{last_dur}/{rate}/TB,DURATION)'"
                     f":time_base=1/{rate}",
           "-movflags", "+faststart", "-f", "ipod", "-y", str(out)]
    run_ffmpeg(cmd, what="m4b mux")
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", *cmd]


def require_chapters(path: Path, chapters: list[ChapterMark]) -> None:
    """Raise :class:`M4BError` unless both chapter lists in the file (the QuickTime track Apple
    reads and the Nero chpl others read) hold exactly ``chapters``."""
    from e3.media.mp4boxes import chapter_problems

    problems = chapter_problems(path, [(chapter_title(c.title), c.start) for c in chapters])
    if problems:
        raise M4BError(f"{path.name}: chapters were not written as planned: {problems[0]}")


def _silence_file(workdir: Path, samples: int, like: AudioInfo, cache: dict) -> _Item:
    """A silence file in the same codec/rate/channels/bit depth as ``like`` where possible, so
    the concat demuxer can read chunks and pauses as one stream."""
    rate, channels = like.sample_rate, like.channels
    if like.codec == "flac" and like.bits in (16, 24):
        codec, bits, ext = "flac", like.bits, "flac"
        enc = ["-c:a", "flac", "-sample_fmt", "s16" if bits == 16 else "s32"]
        if like.block:
            enc += ["-frame_size", str(like.block)]
        if bits == 24:
            enc += ["-bits_per_raw_sample", "24"]
    elif like.codec in ("pcm_s16le", "pcm_s24le", "pcm_s32le"):
        codec, bits, ext = like.codec, like.bits, "wav"
        enc = ["-c:a", like.codec]
    else:
        codec, bits, ext = "pcm_s16le", 16, "wav"
        enc = ["-c:a", "pcm_s16le"]
    block = like.block if codec == "flac" else 0
    key = (samples, rate, channels, codec, bits, block)
    if key not in cache:
        p = workdir / f"silence_{samples}_{rate}_{channels}_{bits}_{block}.{ext}"
        run_ffmpeg(["-f", "lavfi", "-i", f"anullsrc=r={rate}:cl={_layout(channels)}",
                    "-af", f"atrim=end_sample={samples}", *enc, "-y", str(p)], what="silence")
        made = probe_audio(p)
        cache[key] = _Item(p, samples, (codec, rate, channels, bits, made.block))
    return cache[key]


def tag_map(tags: dict[str, str] | None) -> dict[str, str]:
    """Friendly tag names -> ffmpeg/ipod keys (title, author/artist, album, narrator/composer,
    year/date, genre, description/comment). Unknown keys pass through."""
    out: dict[str, str] = {}
    alias = {"author": "artist", "narrator": "composer", "year": "date", "description": "description"}
    for k, v in (tags or {}).items():
        if v is None or str(v) == "" or k.lower() in ("language", "release_year"):
            continue
        key = alias.get(k.lower(), k.lower())
        out[key] = str(v)
    if "artist" in out:
        out.setdefault("album_artist", out["artist"])
    if "title" in out:
        out.setdefault("album", out["title"])
    if "description" in out:
        out.setdefault("comment", out["description"][:250])
    out.setdefault("genre", "Audiobook")
    out.setdefault("media_type", "2")  # iTunes stik 2 = Audiobook
    return out


# Tags the ipod muxer does not write: the narrator (Apple's ©nrt; composer carries it too) and
# iTunes freeform atoms that Audiobookshelf and Plex read.
EXTRA_TAGS = ("narrator", "language", "release_year")


def _write_extra_tags(path: Path, tags: dict[str, str] | None) -> None:
    extras = {k: str(v) for k, v in (tags or {}).items() if k in EXTRA_TAGS and v not in (None, "")}
    if not extras:
        return
    from mutagen.mp4 import MP4, MP4FreeForm

    mp4 = MP4(str(path))
    if "narrator" in extras:
        mp4["\xa9nrt"] = [extras["narrator"]]
    if "language" in extras:
        mp4["----:com.apple.iTunes:LANGUAGE"] = [MP4FreeForm(extras["language"].encode("utf-8"))]
    if "release_year" in extras:  # the edition's year, kept out of ©day (the work's year)
        mp4["----:com.apple.iTunes:RELEASE_YEAR"] = [MP4FreeForm(extras["release_year"].encode())]
    mp4.save()


def build_m4b(tl: _Timeline, chapters: list[ChapterMark], tags: dict[str, str] | None,
              cover: bytes | None, out: Path, *, af: str | None, bitrate: str, workers: int | None,
              progress: Progress | None, piece_seconds: float = 600.0,
              aac_coder: str | None = None) -> tuple[list[str], int]:
    """Encode ``tl`` once into ``out`` atomically. Returns (mux command, pieces). Lower level
    than :func:`assemble_m4b`; the merger uses it too."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    workers = workers or os.cpu_count() or 1
    ftags = tag_map(tags)
    work = work_dir(out.parent, "m4b")
    try:
        joined = work / "joined.aac"
        packets = _encode_pieces(tl, joined, work, bitrate=bitrate, af=af, workers=workers,
                                 piece_seconds=piece_seconds, progress=progress, aac_coder=aac_coder)
        meta = work / "meta.txt"
        meta.write_text(ffmetadata(chapters, ftags), encoding="utf-8")
        cover_path = None
        if cover:
            cover_path = work / "cover.jpg"
            cover_path.write_bytes(normalize_cover(cover))
        with atomic_path(out) as tmp:
            cmd = _mux(joined, packets, tl.total, tl.rate, meta, cover_path, tmp)
            require_chapters(tmp, chapters)
            _write_extra_tags(tmp, tags)
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; media servers must read it
        bounds = _plan_pieces(tl.offsets, tl.total, int(piece_seconds * tl.rate), tl.uniform)
        return cmd, len(bounds) - 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure_timeline(tl: _Timeline, workdir: Path, af: str | None = None) -> Loudness:
    """ebur128 over the whole timeline (after ``af`` if given), streamed through one ffmpeg."""
    inputs, prefix = tl.input_args(0, len(tl.items), workdir, "measure")
    graph = f"{prefix}[pre];[pre]{af}[a]" if af else prefix + "[a]"
    # Sample peak is enough to set the gain; the limiter's margin covers inter-sample overs.
    return measure(inputs, pre_filter=graph, true_peak=False)


def normalize_for_timeline(tl: _Timeline, workdir: Path, target: float, true_peak: float) -> tuple[str, Loudness]:
    """The gain (+ limiter) filter that brings the timeline to ``target`` LUFS.

    Speech has peaks far above its loudness, so the limiter often takes a dB or more off the
    integrated loudness; the limited result is measured once more and the loss made up.
    """
    measured = measure_timeline(tl, workdir)
    af = normalize_filter(measured, target, true_peak)
    if "alimiter" in af:
        after = measure_timeline(tl, workdir, af)
        shortfall = target - after.integrated_lufs
        if abs(shortfall) > 0.2:
            af = normalize_filter(replace(measured, integrated_lufs=measured.integrated_lufs - shortfall),
                                  target, true_peak)
    return af, measured


# --------------------------------------------------------------------------------------------
# Public entry point

def assemble_m4b(segments: Sequence[Segment], chapter_titles: list[str], tags: dict[str, str] | None,
                 cover: bytes | None, out: Path | str, *, loudness_target: float | None = -18.0,
                 true_peak: float = -1.5, bitrate: str = "64k", sample_rate: int | None = None,
                 progress: Progress | None = None, workers: int | None = None,
                 measure_output: bool = True, piece_seconds: float = 600.0) -> M4BResult:
    """Assemble narration chunk files into a chaptered, tagged m4b at ``out`` (atomically).

    ``segments`` are in play order; ``chapter_index`` is 0-based into ``chapter_titles`` and never
    decreases; every chapter needs at least one segment. ``pause_after`` seconds of silence follow
    each segment (it counts toward the duration). ``tags`` keys: title, author, narrator, year,
    genre, description (others pass through to ffmpeg). ``cover`` is any image bytes (normalized
    to JPEG); None embeds no picture. ``loudness_target`` None skips normalization;
    ``measure_output`` re-measures the written file (true peak; about half an encode's CPU) for
    ``M4BResult.loudness``. ``workers`` defaults to all cores. ``progress``
    gets (seconds encoded, total seconds). Raises :class:`M4BError` on bad input and
    ``FFmpegError`` when ffmpeg fails.
    """
    out = Path(out)
    segments = list(segments)
    if not segments:
        raise M4BError("no audio segments to assemble")
    if not chapter_titles:
        raise M4BError("no chapter titles given")
    prev = 0
    for seg in segments:
        if not Path(seg.path).is_file():
            raise M4BError(f"audio chunk missing: {seg.path}")
        if not 0 <= seg.chapter_index < len(chapter_titles):
            raise M4BError(f"{Path(seg.path).name}: chapter_index {seg.chapter_index} outside "
                           f"0..{len(chapter_titles) - 1}")
        if seg.chapter_index < prev:
            raise M4BError(f"{Path(seg.path).name}: chapter_index goes backwards ({prev} -> "
                           f"{seg.chapter_index}); segments must be in play order")
        if seg.pause_after < 0 or not math.isfinite(seg.pause_after):
            raise M4BError(f"{Path(seg.path).name}: bad pause_after {seg.pause_after}")
        prev = seg.chapter_index
    used = {s.chapter_index for s in segments}
    empty = [chapter_titles[i] for i in range(len(chapter_titles)) if i not in used]
    if empty:
        raise M4BError(f"chapters without audio: {', '.join(empty[:5])}")

    out.parent.mkdir(parents=True, exist_ok=True)
    infos = []
    for seg in segments:
        try:
            infos.append(probe_audio(seg.path))
        except FFmpegError as exc:
            raise M4BError(str(exc)) from None
    rate = sample_rate or infos[0].sample_rate
    channels = min(2, max(i.channels for i in infos))
    work = work_dir(out.parent, "sil")
    try:
        items: list[_Item] = []
        chapter_start: dict[int, int] = {}
        cache: dict = {}
        pos = 0
        for seg, info in zip(segments, infos):
            n = info.samples if info.sample_rate == rate else round(info.samples * rate / info.sample_rate)
            chapter_start.setdefault(seg.chapter_index, pos)
            items.append(_Item(Path(seg.path), n, (info.codec, info.sample_rate, info.channels,
                                                   info.bits, info.block)))
            pos += n
            gap = round(seg.pause_after * info.sample_rate)  # silence at the chunk's own rate
            if gap > 0:
                sil = _silence_file(work, gap, info, cache)
                g = gap if info.sample_rate == rate else round(gap * rate / info.sample_rate)
                items.append(_Item(sil.path, g, sil.fmt))
                pos += g
        tl = _Timeline(items, rate, channels)
        starts = [chapter_start[i] for i in range(len(chapter_titles))] + [tl.total]
        marks = [ChapterMark(chapter_titles[i], starts[i] / rate, starts[i + 1] / rate)
                 for i in range(len(chapter_titles))]

        af, measured_in = None, None
        if loudness_target is not None:
            af, measured_in = normalize_for_timeline(tl, work, loudness_target, true_peak)
        cmd, pieces = build_m4b(tl, marks, tags, cover, out, af=af, bitrate=bitrate, workers=workers,
                                progress=progress, piece_seconds=piece_seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    loud = measure(out) if measure_output else None
    return M4BResult(path=out, duration=tl.total / rate, size_bytes=out.stat().st_size,
                     chapters=marks, loudness=loud, ffmpeg_command=cmd, input_loudness=measured_in,
                     reencoded=True, sample_rate=rate, channels=channels, pieces=pieces)
