"""Chapter marks: FFMETADATA1 text for ffmpeg, and reading the marks back from a file.

``ffmetadata(chapters, tags)`` is fed to ffmpeg as a second input with
``-map_metadata 1 -map_chapters 1``; ``read_chapters(path)`` parses ``ffmpeg -i`` so that tests
and asset checks see what players see.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from e3.media.ffmpeg import FFmpegError, ffmpeg_exe


@dataclass(frozen=True)
class ChapterMark:
    """One chapter: title and its span in seconds."""

    title: str
    start: float
    end: float


def _escape(value: str) -> str:
    # FFMETADATA escapes '=', ';', '#', '\' and newline with a backslash.
    out = []
    for ch in str(value):
        if ch in "=;#\\\n":
            out.append("\\")
        out.append(ch)
    return "".join(out)


MAX_TITLE_BYTES = 240  # the Nero chpl box keeps at most 255 bytes of a title


def chapter_title(title: str) -> str:
    """``title`` as it is stored in a file: one line, at most MAX_TITLE_BYTES of UTF-8."""
    one_line = " ".join(str(title).split())
    raw = one_line.encode("utf-8")[:MAX_TITLE_BYTES]
    return raw.decode("utf-8", "ignore").rstrip()


def ffmetadata(chapters: list[ChapterMark], tags: dict[str, str] | None = None) -> str:
    """FFMETADATA1 text with global ``tags`` and one ``[CHAPTER]`` block per mark (ms timebase).

    Empty tag values are skipped. Chapter times are rounded to milliseconds; each chapter ends
    where the next starts so players see no gaps.
    """
    lines = [";FFMETADATA1"]
    for key, value in (tags or {}).items():
        if value is None or str(value) == "":
            continue
        lines.append(f"{_escape(key)}={_escape(str(value))}")
    for ch in chapters:
        start = int(round(ch.start * 1000))
        end = max(start + 1, int(round(ch.end * 1000)))
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={start}", f"END={end}",
                  f"title={_escape(chapter_title(ch.title))}"]
    return "\n".join(lines) + "\n"


_CHAPTER = re.compile(r"^\s*Chapter #\d+[:.]\d+: start (-?[\d.]+), end (-?[\d.]+)")
_TITLE = re.compile(r"^\s*title\s*:\s?(.*)$")


def read_chapters(path: Path | str) -> list[ChapterMark]:
    """The chapter marks of a media file, as ffmpeg reads them (``ffmpeg -i`` output)."""
    path = Path(path)
    if not path.is_file():
        raise FFmpegError(f"{path}: no such file")
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
                          capture_output=True)
    text = proc.stderr.decode("utf-8", "replace").splitlines()
    marks: list[ChapterMark] = []
    current: list | None = None
    in_meta = False
    for line in text:
        m = _CHAPTER.match(line)
        if m:
            if current:
                marks.append(ChapterMark(current[0], current[1], current[2]))
            current = ["", float(m.group(1)), float(m.group(2))]
            in_meta = False
            continue
        if current is None:
            continue
        if line.strip() == "Metadata:":
            in_meta = True
            continue
        t = _TITLE.match(line)
        if in_meta and t and not current[0]:
            current[0] = t.group(1)
            continue
        if not line.startswith("    "):
            # Left the chapter block (e.g. "Stream #0:0").
            marks.append(ChapterMark(current[0], current[1], current[2]))
            current = None
    if current:
        marks.append(ChapterMark(current[0], current[1], current[2]))
    return marks
