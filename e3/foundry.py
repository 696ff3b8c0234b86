"""The foundry: E3's book-centric file tree (seed 000), with atomic writes.

::

    <root>/<book_id>/input.<ext>              the source as given
    <root>/<book_id>/chapters.toml            a publisher's chapter corrections (kept on re-parse)
    <root>/<book_id>/metadata.json            book-level metadata
    <root>/<book_id>/audiobook/metadata.json  parsing results (chapters, counts)
    <root>/<book_id>/audiobook/chapters/      cleaned chapter texts
    <root>/<book_id>/audiobook/chunks.json    the narration chunk plan
    <root>/<book_id>/audiobook/audio_chunks/  one audio file (+ timing sidecar) per chunk
    <root>/<book_id>/audiobook/combined/      <book_id>.m4b
    <root>/<book_id>/audiobook/subtitles/     <book_id>.srt / .vtt
    <root>/<book_id>/images/                  prompts.json and illustrations
    <root>/<book_id>/videos/                  narrated book videos
    <root>/_video_jobs/<key>/                 channel studio jobs (music/, images/, video, export/)
    <root>/_merges/<key>/                     merge jobs
    <root>/_inbox/                            drop books here; a sensor picks them up
    <root>/_uploads/                          user uploads (kept until the book is deleted)
    <root>/_cache/                            downloads (Project Gutenberg)

Folders that start with ``_`` are E3's own; book ids are ``[a-z0-9-]`` so they never collide.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from e3.errors import E3Error
from e3.fsutil import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text

BOOK_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class InvalidBookId(E3Error):
    pass


def validate_book_id(book_id: str) -> str:
    if not BOOK_ID.fullmatch(book_id or ""):
        raise InvalidBookId(
            f"invalid book id {book_id!r}: use 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit"
        )
    return book_id


def slugify(text: str, max_len: int = 48) -> str:
    """A book id from free text: lower-case ASCII letters, digits and single dashes."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = slug[:max_len].strip("-")
    return slug or "book"


class MissingUpstream(E3Error):
    """A file an earlier step writes is not there yet."""


def read_json(path: Path, what: str) -> dict:
    """The JSON document one step wrote for another; a clear error when it is missing."""
    if not path.is_file():
        raise MissingUpstream(f"{what} not found at {path}; materialize the upstream asset first")
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class BookPaths:
    root: Path

    @property
    def metadata(self) -> Path:
        return self.root / "metadata.json"

    @property
    def chapters_toml(self) -> Path:
        """The publisher's corrections to the parsed chapters (e3.books.corrections)."""
        return self.root / "chapters.toml"

    @property
    def audiobook(self) -> Path:
        return self.root / "audiobook"

    @property
    def parse_metadata(self) -> Path:
        return self.audiobook / "metadata.json"

    @property
    def chapters(self) -> Path:
        return self.audiobook / "chapters"

    @property
    def chunk_plan(self) -> Path:
        return self.audiobook / "chunks.json"

    @property
    def audio_chunks(self) -> Path:
        return self.audiobook / "audio_chunks"

    @property
    def combined(self) -> Path:
        return self.audiobook / "combined"

    @property
    def subtitles(self) -> Path:
        return self.audiobook / "subtitles"

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def videos(self) -> Path:
        return self.root / "videos"

    def input_file(self) -> Path | None:
        """The stored source (``input.<ext>``), if any."""
        found = sorted(p for p in self.root.glob("input.*") if not p.name.startswith("."))
        return found[0] if found else None

    @property
    def audio_manifest(self) -> Path:
        """Chunk files in play order with durations and pauses (audio_chunks -> audiobook_m4b)."""
        return self.audiobook / "audio_manifest.json"

    @property
    def image_prompts(self) -> Path:
        """The scene prompts (image_prompts -> illustrations, book_video, `e3 images prompts`)."""
        return self.images / "prompts.json"

    def srt(self, book_id: str) -> Path:
        """Sentence-level subtitles (subtitles -> book_video, the web app, checks)."""
        return self.subtitles / f"{book_id}.srt"

    def vtt(self, book_id: str) -> Path:
        return self.subtitles / f"{book_id}.vtt"

    def words_vtt(self, book_id: str) -> Path:
        """Word-level WebVTT, when word times are known."""
        return self.subtitles / f"{book_id}.words.vtt"

    def m4b(self, book_id: str) -> Path:
        return self.combined / f"{book_id}.m4b"

    def m4b_sidecar(self, book_id: str) -> Path:
        """What the m4b holds: chapters, loudness, inputs hash (audiobook_m4b -> subtitles, book_video)."""
        return self.combined / f"{book_id}.m4b.json"

    def make_tree(self) -> None:
        for folder in (self.audiobook, self.chapters, self.audio_chunks, self.combined, self.subtitles,
                       self.images, self.videos):
            folder.mkdir(parents=True, exist_ok=True)


class Foundry:
    """Paths and atomic writes under one foundry root."""

    def __init__(self, root: Path | str):
        self.root = Path(root).expanduser().resolve()

    # --- books -----------------------------------------------------------------------------
    def book(self, book_id: str) -> BookPaths:
        return BookPaths(self.root / validate_book_id(book_id))

    def store_input(self, book_id: str, source: Path) -> Path:
        """Copy a source file to ``<book_id>/input.<ext>`` atomically (replacing an older one)."""
        paths = self.book(book_id)
        paths.root.mkdir(parents=True, exist_ok=True)
        ext = source.suffix.lower().lstrip(".") or "bin"
        for old in paths.root.glob("input.*"):
            if old.suffix.lower() != f".{ext}":
                old.unlink()
        final = paths.root / f"input.{ext}"
        with atomic_path(final) as tmp:
            shutil.copyfile(source, tmp)
        return final

    def remove_book(self, book_id: str) -> None:
        shutil.rmtree(self.book(book_id).root, ignore_errors=True)

    def book_ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and BOOK_ID.fullmatch(p.name))

    # --- E3's own folders --------------------------------------------------------------------
    @property
    def inbox(self) -> Path:
        return self.root / "_inbox"

    @property
    def uploads(self) -> Path:
        return self.root / "_uploads"

    @property
    def cache(self) -> Path:
        return self.root / "_cache"

    def video_job(self, key: str) -> Path:
        return self.root / "_video_jobs" / key

    def merge_job(self, key: str) -> Path:
        return self.root / "_merges" / key

    def ensure(self) -> None:
        for folder in (self.root, self.inbox, self.uploads, self.cache):
            folder.mkdir(parents=True, exist_ok=True)

    # --- writes ------------------------------------------------------------------------------
    write_bytes = staticmethod(atomic_write_bytes)
    write_text = staticmethod(atomic_write_text)
    write_json = staticmethod(atomic_write_json)
    atomic_path = staticmethod(atomic_path)
