"""Plan a merge: which files, in what order, with which chapter titles, tags and cover.

``collect_inputs`` validates the folders (missing, empty, escaping the allowed roots), sorts
files naturally inside each folder (folders keep the given order), probes every file exactly
and names a corrupt file in the error.

Exact sample counts: an MP3 written by LAME or ffmpeg carries a Xing/Info frame (frame count,
byte count) and a LAME tag (encoder delay and padding); ffmpeg decodes exactly
``frames * samples_per_frame - delay - padding`` samples from such a file, so the count is read
from the header in microseconds (:func:`mp3_header_samples`). Files without these headers, or
whose size disagrees with the header, are decoded to count (in parallel): that was 20% of a
20-hour merge when every MP3 was decoded.
"""

from __future__ import annotations

import os
import re
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from e3.errors import E3Error
from e3.media.ffmpeg import FFmpegError
from e3.media.m4b import AudioInfo, probe_audio

AUDIO_EXTENSIONS = {".mp3", ".m4a", ".m4b", ".aac", ".flac", ".ogg", ".opus", ".wav"}
COVER_NAMES = ("cover", "folder")
COVER_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")


class MergeError(E3Error):
    """A merge cannot run: bad folder, escaping path, empty input or a corrupt file."""


@dataclass(frozen=True)
class InputFile:
    """One input file with its exact length (``samples`` at ``sample_rate``) and its tags."""

    path: Path
    duration: float
    codec: str
    sample_rate: int
    channels: int
    bitrate: int | None
    tags: dict[str, str]
    samples: int = 0
    profile: str | None = None
    bits: int = 0
    block: int = 0  # FLAC max block size (0 for other codecs)


@dataclass
class MergePlan:
    """Files in play order and chapters as (title, files) in play order."""

    files: list[InputFile]
    chapters: list[tuple[str, list[InputFile]]]
    title: str
    author: str
    year: str = ""
    cover: bytes | None = None
    folders: list[Path] = field(default_factory=list)


def natural_key(name: str) -> tuple:
    """Sort key where digit runs compare as numbers: "2" < "10", case-insensitive."""
    parts = re.split(r"(\d+)", str(name))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.casefold()) for p in parts if p != "")


_TRACK = re.compile(r"^\s*(?:(?:track|disc|cd|part|chapter)\s*)?\d+(?:[.\-_]\d+)?\s*(?:[-_.)\]:]+\s*|\s+)",
                    re.IGNORECASE)


def clean_title(filename: str) -> str:
    """"01 - Intro.mp3" -> "Intro"; a bare number stays ("07.mp3" -> "07")."""
    stem = Path(filename).stem
    cleaned = _TRACK.sub("", stem, count=1).strip(" -_.")
    cleaned = re.sub(r"[_]+", " ", cleaned).strip()
    return cleaned or stem


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == r or path.is_relative_to(r) for r in roots)


def _check_folder(d: Path, roots: list[Path] | None) -> Path:
    raw = Path(d)
    if ".." in raw.parts and roots is not None:
        raise MergeError(f"{raw}: '..' is not allowed in input folders")
    if not raw.exists():
        raise MergeError(f"{raw}: folder not found")
    if not raw.is_dir():
        raise MergeError(f"{raw}: not a folder")
    real = raw.resolve(strict=True)
    if roots is not None and not _inside(real, roots):
        raise MergeError(f"{raw}: resolves to {real}, {outside_roots_message(roots)}")
    return real


def outside_roots_message(roots: list[Path]) -> str:
    # Name the allowed folders and the setting, so the user knows how to allow theirs.
    allowed = ", ".join(str(r) for r in roots) or "none"
    return (f"outside the allowed folders ({allowed}); set E3_MERGE_ROOTS "
            f"(folders separated by {os.pathsep!r}) to allow others")


def _tags(path: Path) -> dict[str, str]:
    try:
        import mutagen

        f = mutagen.File(str(path), easy=True)
    except Exception:
        return {}
    if f is None or not f.tags:
        return {}
    out = {}
    for key in ("title", "album", "artist", "albumartist", "date", "genre", "tracknumber"):
        try:
            val = f.tags.get(key)
        except Exception:
            val = None
        if val:
            out[key] = str(val[0] if isinstance(val, list) else val).strip()
    return {k: v for k, v in out.items() if v}


def embedded_cover(path: Path) -> bytes | None:
    """Embedded artwork (ID3 APIC, MP4 covr, FLAC/Vorbis picture), else None."""
    try:
        import mutagen

        f = mutagen.File(str(path))
    except Exception:
        return None
    if f is None:
        return None
    if getattr(f, "pictures", None):
        return f.pictures[0].data
    tags = f.tags
    if tags is None:
        return None
    try:
        if "covr" in tags and tags["covr"]:
            return bytes(tags["covr"][0])
    except (KeyError, TypeError, ValueError):
        pass
    for key in list(getattr(tags, "keys", lambda: [])()):
        if str(key).startswith("APIC"):
            return tags[key].data
    if hasattr(tags, "get") and tags.get("metadata_block_picture"):
        import base64

        from mutagen.flac import Picture

        try:
            return Picture(base64.b64decode(tags["metadata_block_picture"][0])).data
        except Exception:
            return None
    return None


def _folder_cover(folder: Path) -> bytes | None:
    for p in sorted(folder.iterdir(), key=lambda p: natural_key(p.name)):
        if p.is_file() and p.stem.lower() in COVER_NAMES and p.suffix.lower() in COVER_EXTENSIONS:
            return p.read_bytes()
    return None


_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_MP3_KBPS = {True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
             False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
# ffmpeg trims delay/padding only for these LAME-tag encoder strings (libavformat/mp3dec.c).
_TRIMMING_ENCODERS = (b"LAME", b"Lavf", b"Lavc")


def mp3_header_samples(path: Path) -> tuple[int, int, int, int | None] | None:
    """(samples, sample_rate, channels, bitrate) of an MP3 from its Xing/Info + LAME tag.

    ``samples`` equals what ffmpeg decodes: Xing frames x samples per frame minus the LAME
    encoder delay and padding (12 bits each). None when there is no Xing frame count, no LAME
    tag that ffmpeg honours, or the file is shorter than the header's byte count (truncated):
    the caller decodes to count then.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(10)
            start = 0
            if len(head) == 10 and head[:3] == b"ID3":
                size = ((head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7
                        | (head[9] & 0x7F))
                start = 10 + size + (10 if head[5] & 0x10 else 0)
            fh.seek(start)
            buf = fh.read(4096)
            file_size = fh.seek(0, os.SEEK_END)
    except OSError:
        return None
    i = 0
    while i + 4 <= len(buf) and not (buf[i] == 0xFF and (buf[i + 1] & 0xE0) == 0xE0):
        i += 1
    if i + 4 > len(buf):
        return None
    h = struct.unpack(">I", buf[i:i + 4])[0]
    version, layer, kbps_i, rate_i, mode = (h >> 19) & 3, (h >> 17) & 3, (h >> 12) & 15, (h >> 10) & 3, (h >> 6) & 3
    if version == 1 or layer != 1 or kbps_i in (0, 15) or rate_i == 3:  # Layer III only
        return None
    mpeg1 = version == 3
    rate = _MP3_RATES[version][rate_i]
    channels = 1 if mode == 3 else 2
    per_frame = 1152 if mpeg1 else 576
    side_info = (32 if channels == 2 else 17) if mpeg1 else (17 if channels == 2 else 9)
    x = i + 4 + side_info
    if buf[x:x + 4] not in (b"Xing", b"Info") or len(buf) < x + 160:
        return None
    flags = struct.unpack(">I", buf[x + 4:x + 8])[0]
    if flags & 3 != 3:  # need both the frame and the byte count
        return None
    frames, nbytes = struct.unpack(">II", buf[x + 8:x + 16])
    p = x + 16 + (100 if flags & 4 else 0) + (4 if flags & 8 else 0)
    if buf[p:p + 4] not in _TRIMMING_ENCODERS or file_size - start - i < nbytes or frames == 0:
        return None
    v = int.from_bytes(buf[p + 21:p + 24], "big")
    samples = frames * per_frame - (v >> 12) - (v & 0xFFF)
    if samples <= 0:
        return None
    bitrate = round(nbytes * 8 * rate / (frames * per_frame)) if nbytes else None
    return samples, rate, channels, bitrate


def _probe(path: Path) -> InputFile:
    if path.suffix.lower() == ".mp3":
        head = mp3_header_samples(path)
        if head is not None:
            samples, rate, channels, bitrate = head
            return InputFile(path=path, duration=samples / rate, codec="mp3", sample_rate=rate,
                             channels=channels, bitrate=bitrate, tags=_tags(path), samples=samples)
    try:
        info: AudioInfo = probe_audio(path, exact=True)
    except FFmpegError as exc:
        raise MergeError(f"corrupt or unreadable audio file {path}: {exc}") from None
    return InputFile(path=path, duration=info.duration, codec=info.codec, sample_rate=info.sample_rate,
                     channels=info.channels, bitrate=info.bitrate, tags=_tags(path),
                     samples=info.samples, profile=info.profile, bits=info.bits, block=info.block)


def collect_inputs(dirs: list[Path], *, chapters: Literal["per-file", "per-folder"] = "per-file",
                   allowed_roots: list[Path] | None = None, title: str | None = None,
                   author: str | None = None, workers: int | None = None) -> MergePlan:
    """Build a :class:`MergePlan` from folders (in the given order).

    ``allowed_roots`` None allows any folder; otherwise each folder and file must resolve inside
    one of them (symlinks followed). ``title``/``author`` override the tags (album, artist).
    Raises :class:`MergeError` for a missing/empty/escaping folder or a corrupt file (named).
    """
    if chapters not in ("per-file", "per-folder"):
        raise MergeError(f"chapters must be 'per-file' or 'per-folder', not {chapters!r}")
    if not dirs:
        raise MergeError("no input folders given")
    roots = [Path(r).resolve() for r in allowed_roots] if allowed_roots is not None else None
    folders: list[tuple[Path, list[Path]]] = []
    for d in dirs:
        real = _check_folder(Path(d), roots)
        files = []
        for p in real.iterdir():
            if p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith("."):
                target = p.resolve()
                if roots is not None and not _inside(target, roots):
                    raise MergeError(f"{p}: links to {target}, {outside_roots_message(roots)}")
                if target.is_file():
                    files.append(p)
        if not files:
            raise MergeError(f"{d}: no audio files ({', '.join(sorted(e[1:] for e in AUDIO_EXTENSIONS))})")
        files.sort(key=lambda p: natural_key(p.name))
        folders.append((real, files))

    ordered = [p for _, files in folders for p in files]
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        probed = list(pool.map(_probe, ordered))
    by_path = dict(zip(ordered, probed))

    chaps: list[tuple[str, list[InputFile]]] = []
    if chapters == "per-folder":
        for folder, files in folders:
            chaps.append((folder.name, [by_path[p] for p in files]))
    else:
        for f in probed:
            chaps.append((f.tags.get("title") or clean_title(f.path.name), [f]))

    first_tags = next((f.tags for f in probed if f.tags), {})
    plan_title = title or first_tags.get("album") or (folders[0][0].name if folders else "Audiobook")
    plan_author = author or first_tags.get("artist") or first_tags.get("albumartist") or ""
    year = (first_tags.get("date") or "")[:4]
    cover = embedded_cover(probed[0].path)
    if cover is None:
        for folder, _ in folders:
            cover = _folder_cover(folder)
            if cover:
                break
    return MergePlan(files=probed, chapters=chaps, title=plan_title, author=plan_author, year=year,
                     cover=cover, folders=[f for f, _ in folders])
