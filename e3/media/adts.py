"""Reading AAC frames out of an ADTS stream (the form ffmpeg writes with ``-f adts``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from e3.errors import E3Error


class ADTSError(E3Error):
    """A file that should be a clean ADTS stream is not."""


def adts_frames(path: Path | str) -> Iterator[bytes]:
    """Yield each ADTS frame (header included) of ``path``, streaming from disk."""
    path = Path(path)
    with open(path, "rb") as fh:
        while True:
            head = fh.read(7)
            if len(head) < 7:
                return
            if head[0] != 0xFF or (head[1] & 0xF0) != 0xF0:
                raise ADTSError(f"{path.name}: broken ADTS stream")
            length = ((head[3] & 0x03) << 11) | (head[4] << 3) | (head[5] >> 5)
            yield head + fh.read(length - 7)
