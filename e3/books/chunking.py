"""Sentences and narration chunks.

``plan_chunks`` turns chapters into TTS-sized chunks:

- each chapter starts with one chunk holding its spoken heading (pause_after "paragraph");
- chunks never cross a paragraph; whole sentences are packed up to ``max_chars``;
- only a sentence longer than ``max_chars`` is cut, at a clause boundary (; : , —) and as a last
  resort at a word boundary;
- ``pause_after`` is "sentence" inside a paragraph, "paragraph" at a paragraph's end and
  "chapter" at a chapter's end; ``text_hash = sha256_text(text)`` so an unchanged chunk is never
  synthesized twice.

The text given is used as is: run ``for_the_ear`` on chapter text first if it should be cleaned.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import pysbd

from e3.books.model import Chapter
from e3.books.speech import heading_for_the_ear
from e3.fsutil import sha256_text

_SEGMENTERS: dict[str, pysbd.Segmenter] = {}
_PYSBD_LANGS = set(pysbd.languages.LANGUAGE_CODES) if hasattr(pysbd, "languages") else {"en"}


def _segmenter(language: str) -> pysbd.Segmenter:
    lang = (language or "en").split("-")[0].split("_")[0].lower()
    if lang not in _PYSBD_LANGS:
        lang = "en"
    seg = _SEGMENTERS.get(lang)
    if seg is None:
        seg = _SEGMENTERS[lang] = pysbd.Segmenter(language=lang, clean=False)
    return seg


def split_sentences(text: str, language: str = "en") -> list[str]:
    """Sentences of ``text`` (pysbd; languages pysbd lacks fall back to English rules)."""
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return []
    return [s.strip() for s in _segmenter(language).segment(text) if s.strip()]


@dataclass
class Chunk:
    index: int
    chapter_index: int
    paragraph_index: int  # -1 for the chapter heading chunk
    text: str
    sentences: list[str] = field(default_factory=list)
    pause_after: str = "sentence"  # "sentence" | "paragraph" | "chapter"
    text_hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        return cls(**{k: d[k] for k in ("index", "chapter_index", "paragraph_index", "text", "sentences",
                                         "pause_after", "text_hash")})


_CLAUSE = re.compile(r"(?<=[;:,—–])\s+|\s+(?=[—–])")


def _cut_long(sentence: str, max_chars: int) -> list[str]:
    """Cut one over-long sentence at clause boundaries, else at word boundaries."""
    pieces: list[str] = []
    cur = ""
    for part in _CLAUSE.split(sentence):
        if not part:
            continue
        if len(part) > max_chars:
            if cur:
                pieces.append(cur)
                cur = ""
            words = ""
            for w in part.split(" "):
                if words and len(words) + 1 + len(w) > max_chars:
                    pieces.append(words)
                    words = w
                else:
                    words = f"{words} {w}" if words else w
            while len(words) > max_chars:  # a single "word" longer than the limit
                pieces.append(words[:max_chars])
                words = words[max_chars:]
            cur = words
        elif cur and len(cur) + 1 + len(part) > max_chars:
            pieces.append(cur)
            cur = part
        else:
            cur = f"{cur} {part}" if cur else part
    if cur:
        pieces.append(cur)
    return pieces


def plan_chunks(chapters: list[Chapter], max_chars: int, language: str = "en") -> list[Chunk]:
    """Plan narration chunks for ``chapters`` (see module docstring)."""
    if max_chars < 20:
        raise ValueError("max_chars must be at least 20")
    chunks: list[Chunk] = []

    def add(ci: int, pi: int, sents: list[str], pause: str) -> None:
        text = " ".join(sents)
        chunks.append(Chunk(len(chunks), ci, pi, text, sents, pause, sha256_text(text)))

    for ci, chapter in enumerate(chapters):
        heading = heading_for_the_ear(chapter.title, language)
        for piece in ([heading] if len(heading) <= max_chars else _cut_long(heading, max_chars)):
            add(ci, -1, [piece], "paragraph")
        start = len(chunks)
        for pi, para in enumerate(chapter.paragraphs):
            group: list[str] = []
            size = 0
            for sent in split_sentences(para, language):
                parts = [sent] if len(sent) <= max_chars else _cut_long(sent, max_chars)
                for part in parts:
                    if group and size + 1 + len(part) > max_chars:
                        add(ci, pi, group, "sentence")
                        group, size = [], 0
                    group.append(part)
                    size = size + 1 + len(part) if size else len(part)
            if group:
                add(ci, pi, group, "paragraph")
        last = chunks[-1] if len(chunks) > start else chunks[-1]
        last.pause_after = "chapter"
    return chunks
