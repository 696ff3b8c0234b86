"""Sentences and narration chunks.

``plan_chunks`` turns chapters into TTS-sized chunks, each in two forms: ``text``/``sentences``
(the display form subtitles show, ``for_the_eye``) and ``spoken``/``spoken_sentences`` (what the
voice reads, ``speak`` applied to each display sentence; the lists are one-to-one):

- each chapter starts with one chunk holding its heading (pause_after "paragraph");
- chunks never cross a paragraph; whole sentences are packed up to ``max_chars``, measured on the
  longer of the two forms;
- only a sentence longer than ``max_chars`` is cut, at a clause boundary (; : , —) and as a last
  resort at a word boundary;
- ``pause_after`` is "sentence" inside a paragraph, "paragraph" at a paragraph's end and
  "chapter" at a chapter's end; ``text_hash`` hashes the spoken text, so a display-only edit
  never re-voices a chunk.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import pysbd

from e3.books.model import Chapter
from e3.books.speech import for_the_eye, heading_for_the_ear, heading_for_the_eye, speak
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


# pysbd's abbreviation pass grows with the square of its input (100 kB: 9 s, 400 kB: 96 s), so
# long text goes to it in windows cut where a sentence surely ends; past HUGE_TEXT (no real
# paragraph is that long) a plain punctuation split keeps the cost linear.
SBD_WINDOW = 3000
HUGE_TEXT = 1_000_000
_SURE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]*[A-ZÀ-ÖØ-Þ0-9])")
_ANY_END = re.compile(r"(?<=[.!?…;])[\"'”’)\]]*\s+")


def _windows(text: str, size: int) -> list[str]:
    """``text`` cut into pieces of about ``size`` characters at sentence ends (else at spaces)."""
    out, start = [], 0
    while len(text) - start > size:
        window = text[start:start + size]
        cut = None
        for m in _SURE_END.finditer(window, size // 2):
            cut = m.end()
        if cut is None:
            space = window.rfind(" ", size // 2)
            cut = space + 1 if space > 0 else size
        out.append(text[start:start + cut])
        start += cut
    out.append(text[start:])
    return out


def split_sentences(text: str, language: str = "en") -> list[str]:
    """Sentences of ``text`` (pysbd; languages pysbd lacks fall back to English rules), in time
    linear in the length of the text."""
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return []
    if len(text) > HUGE_TEXT:
        return [s.strip() for s in _ANY_END.split(text) if s.strip()]
    segmenter = _segmenter(language)
    return [s.strip() for piece in _windows(text, SBD_WINDOW) for s in segmenter.segment(piece) if s.strip()]


@dataclass
class Chunk:
    index: int
    chapter_index: int
    paragraph_index: int  # -1 for the chapter heading chunk
    text: str  # display form
    sentences: list[str] = field(default_factory=list)
    pause_after: str = "sentence"  # "sentence" | "paragraph" | "chapter"
    text_hash: str = ""
    spoken: str = ""  # what the voice reads
    spoken_sentences: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        """A chunk from its dict; plans from before the spoken form treat ``text`` as spoken."""
        c = cls(**{k: d[k] for k in ("index", "chapter_index", "paragraph_index", "text", "sentences",
                                     "pause_after", "text_hash")})
        c.spoken = d.get("spoken") or c.text
        c.spoken_sentences = list(d.get("spoken_sentences") or c.sentences)
        return c


def spoken_hash(spoken_sentences: list[str]) -> str:
    """The audio identity of a chunk: sha256 of its spoken text (as ``text`` was hashed before)."""
    return sha256_text(" ".join(spoken_sentences))


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


def _pairs(display: str, max_chars: int, language: str) -> list[tuple[str, str]]:
    """(display, spoken) pieces of one display sentence, each form within ``max_chars``."""
    spoken = speak(display, language)
    if max(len(display), len(spoken)) <= max_chars:
        return [(display, spoken)]
    limit = max_chars
    while True:
        pieces = _cut_long(display, limit)
        pairs = [(p, speak(p, language)) for p in pieces]
        if all(len(sp) <= max_chars for _, sp in pairs) or limit <= 20:
            break
        limit = max(20, int(limit * 0.75))
    out: list[tuple[str, str]] = []
    for d, sp in pairs:  # last resort: a spoken piece cut further shows its display text once
        parts = [sp] if len(sp) <= max_chars else _cut_long(sp, max_chars)
        out.extend((d if i == 0 else "", part) for i, part in enumerate(parts))
    return out


def _audible(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def plan_chunks(chapters: list[Chapter], max_chars: int, language: str = "en") -> list[Chunk]:
    """Plan narration chunks for ``chapters`` (see module docstring).

    Paragraphs are cleaned with ``for_the_eye`` (idempotent); those left empty are skipped and
    do not count for ``paragraph_index``.
    """
    if max_chars < 20:
        raise ValueError("max_chars must be at least 20")
    chunks: list[Chunk] = []

    def add(ci: int, pi: int, pairs: list[tuple[str, str]], pause: str) -> None:
        sents = [d for d, _ in pairs]
        spoken = [sp for _, sp in pairs]
        text = " ".join(d for d in sents if d)
        chunks.append(Chunk(len(chunks), ci, pi, text, sents, pause, spoken_hash(spoken),
                            " ".join(spoken), spoken))

    for ci, chapter in enumerate(chapters):
        shown, said = heading_for_the_eye(chapter.title, language), heading_for_the_ear(chapter.title, language)
        if max(len(shown), len(said)) <= max_chars:
            add(ci, -1, [(shown, said)], "paragraph")
        else:
            for pair in _pairs(shown, max_chars, language):
                add(ci, -1, [pair], "paragraph")
        start = len(chunks)
        paragraphs = [p for p in (for_the_eye(p, language) for p in chapter.paragraphs) if p.strip()]
        for pi, para in enumerate(paragraphs):
            group: list[tuple[str, str]] = []
            size = 0
            for sent in split_sentences(para, language):
                if not _audible(sent):
                    continue
                for pair in _pairs(sent, max_chars, language):
                    n = max(len(pair[0]), len(pair[1]))
                    if group and size + 1 + n > max_chars:
                        add(ci, pi, group, "sentence")
                        group, size = [], 0
                    group.append(pair)
                    size = size + 1 + n if size else n
            if group:
                add(ci, pi, group, "paragraph")
        last = chunks[-1] if len(chunks) > start else chunks[-1]
        last.pause_after = "chapter"
    return chunks
