"""Sniff a book file's format from its bytes (the extension is only a hint)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from e3.books.errors import BinaryGarbageError, EmptyBookError, NotAnEpubError, UnknownFormatError

_BINARY_MAGIC = {
    b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
    b"\x1f\x8b": "gzip data", b"7z\xbc\xaf": "a 7z archive", b"Rar!": "a RAR archive",
    b"\x7fELF": "an executable", b"MZ": "an executable", b"ID3": "MP3 audio", b"fLaC": "FLAC audio",
    b"RIFF": "RIFF media", b"OggS": "Ogg media", b"\xd0\xcf\x11\xe0": "an old MS Office file",
}


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        # UTF-16 text has NULs too; accept it only with a BOM.
        return not head.startswith((b"\xff\xfe", b"\xfe\xff"))
    if not head:
        return False
    ctrl = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return ctrl / len(head) > 0.02


def detect_format(path: Path | str) -> str:
    """Return "epub", "pdf", "html" or "txt".

    Raises EmptyBookError (empty file), NotAnEpubError (a zip that is not a readable EPUB),
    BinaryGarbageError (binary data named .txt/.htm), UnknownFormatError (anything else).
    """
    path = Path(path)
    if not path.is_file():
        raise UnknownFormatError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise EmptyBookError(f"{path.name}: the file is empty")
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
                mimetype = zf.read("mimetype").strip() if "mimetype" in names else b""
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise NotAnEpubError(f"{path.name}: truncated or corrupt zip ({exc})") from None
        if mimetype == b"application/epub+zip" or "META-INF/container.xml" in names:
            return "epub"
        raise NotAnEpubError(f"{path.name}: a zip file but not an EPUB (no mimetype or META-INF/container.xml)")
    if head.lstrip()[:5] == b"%PDF-" or head.startswith(b"%PDF"):
        return "pdf"
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            if path.suffix.lower() in (".txt", ".htm", ".html", ".xhtml"):
                raise BinaryGarbageError(f"{path.name}: named like text but holds {what}")
            raise UnknownFormatError(f"{path.name}: {what}, not a book (EPUB, PDF, HTML or TXT)")
    if _looks_binary(head):
        if path.suffix.lower() in (".txt", ".htm", ".html", ".xhtml", ""):
            raise BinaryGarbageError(f"{path.name}: binary data, not text")
        raise UnknownFormatError(f"{path.name}: binary data in an unknown format")
    probe = head[:4096].lower()
    if b"<html" in probe or b"<!doctype html" in probe or b"<body" in probe:
        return "html"
    return "txt"
