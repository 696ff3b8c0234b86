"""A small reader of MP4/M4B boxes, independent of ffmpeg: what Apple's players read.

Apple Books, iOS and QuickTime show chapters only from a QuickTime chapter track: a ``text``
track that the audio track points to with ``tref/chap``, one sample per chapter, its times in
``stts``. ffmpeg and mutagen also read the Nero ``chpl`` box under ``moov/udta``. This module
reads both straight from the boxes so checks and tests see what those players see.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from e3.errors import E3Error

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"tref", b"dinf", b"edts"}


class MP4BoxError(E3Error):
    """The file is not a readable MP4."""


@dataclass
class Track:
    """One ``trak``: its id, handler type, timescale, duration and what it references."""

    track_id: int
    handler: str
    timescale: int
    duration: int
    chap_refs: list[int] = field(default_factory=list)
    sample_durations: list[int] = field(default_factory=list)  # stts expanded
    sample_sizes: list[int] = field(default_factory=list)
    chunk_offsets: list[int] = field(default_factory=list)
    samples_per_chunk: list[tuple[int, int]] = field(default_factory=list)  # (first_chunk, n)


@dataclass(frozen=True)
class QTChapter:
    title: str
    start: float
    end: float


def _boxes(data: bytes, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise MP4BoxError(f"box {kind!r} at {pos} overruns its parent")
        yield kind, pos + header, pos + size
        pos += size


def _find(data: bytes, start: int, end: int, path: list[bytes]):
    """Every box at ``path`` below [start, end)."""
    head, rest = path[0], path[1:]
    for kind, s, e in _boxes(data, start, end):
        if kind == head:
            if rest:
                yield from _find(data, s, e, rest)
            else:
                yield s, e


def _one(data: bytes, start: int, end: int, path: list[bytes]) -> tuple[int, int] | None:
    return next(_find(data, start, end, path), None)


def _moov(path: Path) -> tuple[bytes, int, int, Path]:
    """The moov box bytes (read without loading mdat) and its span."""
    with open(path, "rb") as fh:
        size_all = fh.seek(0, 2)
        pos = 0
        while pos + 8 <= size_all:
            fh.seek(pos)
            size, kind = struct.unpack(">I4s", fh.read(8))
            header = 8
            if size == 1:
                size = struct.unpack(">Q", fh.read(8))[0]
                header = 16
            elif size == 0:
                size = size_all - pos
            if size < header:
                raise MP4BoxError(f"{path.name}: bad box size at {pos}")
            if kind == b"moov":
                fh.seek(pos + header)
                body = fh.read(size - header)
                return body, 0, len(body), path
            pos += size
    raise MP4BoxError(f"{path.name}: no moov box (not an MP4 file, or cut short)")


def _full_box(data: bytes, s: int) -> tuple[int, int]:
    return data[s], s + 4


def tracks(path: Path | str) -> list[Track]:
    """Every track in the file with its handler, timescale, tref/chap and sample tables."""
    path = Path(path)
    data, s0, e0, _ = _moov(path)
    out = []
    for ts, te in _find(data, s0, e0, [b"trak"]):
        tkhd = _one(data, ts, te, [b"tkhd"])
        if tkhd is None:
            raise MP4BoxError(f"{path.name}: trak without tkhd")
        version, p = _full_box(data, tkhd[0])
        p += 16 if version == 1 else 8
        track_id = struct.unpack(">I", data[p:p + 4])[0]
        mdhd = _one(data, ts, te, [b"mdia", b"mdhd"])
        hdlr = _one(data, ts, te, [b"mdia", b"hdlr"])
        if mdhd is None or hdlr is None:
            raise MP4BoxError(f"{path.name}: track {track_id} lacks mdhd or hdlr")
        version, p = _full_box(data, mdhd[0])
        if version == 1:
            timescale, duration = struct.unpack(">IQ", data[p + 16:p + 28])
        else:
            timescale, duration = struct.unpack(">II", data[p + 8:p + 16])
        handler = data[hdlr[0] + 8:hdlr[0] + 12].decode("latin-1")
        tr = Track(track_id, handler, timescale, duration)
        for cs, ce in _find(data, ts, te, [b"tref", b"chap"]):
            tr.chap_refs += [struct.unpack(">I", data[i:i + 4])[0] for i in range(cs, ce - 3, 4)]
        stbl = [b"mdia", b"minf", b"stbl"]
        stts = _one(data, ts, te, stbl + [b"stts"])
        if stts:
            n = struct.unpack(">I", data[stts[0] + 4:stts[0] + 8])[0]
            for i in range(n):
                count, delta = struct.unpack(">II", data[stts[0] + 8 + 8 * i:stts[0] + 16 + 8 * i])
                tr.sample_durations += [delta] * count
        stsz = _one(data, ts, te, stbl + [b"stsz"])
        if stsz:
            fixed, n = struct.unpack(">II", data[stsz[0] + 4:stsz[0] + 12])
            tr.sample_sizes = [fixed] * n if fixed else list(
                struct.unpack(f">{n}I", data[stsz[0] + 12:stsz[0] + 12 + 4 * n]))
        stco = _one(data, ts, te, stbl + [b"stco"])
        co64 = _one(data, ts, te, stbl + [b"co64"])
        if stco:
            n = struct.unpack(">I", data[stco[0] + 4:stco[0] + 8])[0]
            tr.chunk_offsets = list(struct.unpack(f">{n}I", data[stco[0] + 8:stco[0] + 8 + 4 * n]))
        elif co64:
            n = struct.unpack(">I", data[co64[0] + 4:co64[0] + 8])[0]
            tr.chunk_offsets = list(struct.unpack(f">{n}Q", data[co64[0] + 8:co64[0] + 8 + 8 * n]))
        stsc = _one(data, ts, te, stbl + [b"stsc"])
        if stsc:
            n = struct.unpack(">I", data[stsc[0] + 4:stsc[0] + 8])[0]
            for i in range(n):
                first, per, _desc = struct.unpack(">III", data[stsc[0] + 8 + 12 * i:stsc[0] + 20 + 12 * i])
                tr.samples_per_chunk.append((first, per))
        out.append(tr)
    return out


def _sample_offsets(tr: Track) -> list[int]:
    offsets = []
    rules = tr.samples_per_chunk or [(1, 1)]
    k = 0
    for ci, base in enumerate(tr.chunk_offsets, start=1):
        per = [n for first, n in rules if first <= ci][-1]
        pos = base
        for _ in range(per):
            if k >= len(tr.sample_sizes):
                return offsets
            offsets.append(pos)
            pos += tr.sample_sizes[k]
            k += 1
    return offsets


def quicktime_chapters(path: Path | str) -> list[QTChapter]:
    """The chapters Apple's players show: the text track that a sound track's ``tref/chap``
    names, one sample (a 16-bit length and UTF-8 title) per chapter, timed by its ``stts``.
    Empty when the file has no such track."""
    path = Path(path)
    all_tracks = tracks(path)
    by_id = {t.track_id: t for t in all_tracks}
    ref = next((r for t in all_tracks if t.handler in ("soun", "vide") for r in t.chap_refs), None)
    if ref is None or ref not in by_id:
        return []
    chap = by_id[ref]
    if chap.handler not in ("text", "sbtl"):
        raise MP4BoxError(f"{path.name}: tref/chap points at a {chap.handler!r} track, not text")
    titles = []
    with open(path, "rb") as fh:
        for off, size in zip(_sample_offsets(chap), chap.sample_sizes):
            fh.seek(off)
            raw = fh.read(size)
            n = struct.unpack(">H", raw[:2])[0] if len(raw) >= 2 else 0
            titles.append(raw[2:2 + n].decode("utf-8", "replace"))
    out, t = [], 0
    for title, dur in zip(titles, chap.sample_durations):
        out.append(QTChapter(title, t / chap.timescale, (t + dur) / chap.timescale))
        t += dur
    return out


def nero_chapters(path: Path | str) -> list[QTChapter]:
    """The Nero ``moov/udta/chpl`` chapters (start times in 100 ns units; ends from the next
    start, the last at the movie's end)."""
    path = Path(path)
    data, s0, e0, _ = _moov(path)
    box = _one(data, s0, e0, [b"udta", b"chpl"])
    if box is None:
        return []
    s, _e = box
    version = data[s]
    p = s + 4
    if version == 1:
        p += 4  # reserved
    count = data[p]
    p += 1
    starts = []
    for _ in range(count):
        start = struct.unpack(">Q", data[p:p + 8])[0]
        n = data[p + 8]
        title = data[p + 9:p + 9 + n].decode("utf-8", "replace")
        starts.append((start / 1e7, title))
        p += 9 + n
    mvhd = _one(data, s0, e0, [b"mvhd"])
    end = 0.0
    if mvhd:
        version, q = _full_box(data, mvhd[0])
        if version == 1:
            ts, dur = struct.unpack(">IQ", data[q + 16:q + 28])
        else:
            ts, dur = struct.unpack(">II", data[q + 8:q + 16])
        end = dur / ts if ts else 0.0
    return [QTChapter(title, st, starts[i + 1][0] if i + 1 < len(starts) else end)
            for i, (st, title) in enumerate(starts)]


def chapter_problems(path: Path | str, expected: list[tuple[str, float]] | None = None,
                     tolerance: float = 0.05) -> list[str]:
    """What is wrong with a file's chapters, as a list of sentences (empty when all is well).

    Both the QuickTime chapter track and the Nero ``chpl`` box must be there, list the same
    chapters with the same titles and starts, and agree with ``expected`` (title, start seconds)
    when it is given."""
    path = Path(path)
    qt = quicktime_chapters(path)
    nero = nero_chapters(path)
    problems = []
    if not qt:
        problems.append("no QuickTime chapter track (tref/chap to a text track): Apple Books and "
                        "iOS show no chapters")
    if not nero:
        problems.append("no Nero chpl chapter box")
    if qt and nero:
        if len(qt) != len(nero):
            problems.append(f"the chapter track has {len(qt)} chapters but chpl has {len(nero)}")
        for i, (a, b) in enumerate(zip(qt, nero), start=1):
            if a.title != b.title or abs(a.start - b.start) > tolerance:
                problems.append(f"chapter {i}: track says {a.title!r} at {a.start:.3f} s, chpl says "
                                f"{b.title!r} at {b.start:.3f} s")
                break
    if expected is not None:
        for name, got in (("chapter track", qt), ("chpl", nero)):
            if not got:
                continue
            if len(got) != len(expected):
                problems.append(f"the {name} has {len(got)} chapters, {len(expected)} were written")
                continue
            for i, (c, (title, start)) in enumerate(zip(got, expected), start=1):
                if c.title != title or abs(c.start - start) > tolerance:
                    problems.append(f"{name} chapter {i} is {c.title!r} at {c.start:.3f} s, "
                                    f"expected {title!r} at {start:.3f} s")
                    break
    return problems
