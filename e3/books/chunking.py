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

``iter_chunks`` makes the same chunks one at a time and ``write_chunk_plan`` writes them into
chunks.json as they are made, so a huge book is never held as a list of chunks. A paragraph past
``HUGE_TEXT`` (hostile input: no real paragraph is that long) is cleaned and split window by window.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

import pysbd

from e3.books.model import Chapter
from e3.books.speech import for_the_eye, heading_for_the_ear, heading_for_the_eye, speak
from e3.fsutil import atomic_path, sha256_text

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
HUGE_WINDOW = 1 << 16
_SURE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]*[A-ZÀ-ÖØ-Þ0-9])")
_ANY_END = re.compile(r"(?<=[.!?…;])[\"'”’)\]]*\s+")
_WHITESPACE = re.compile(r"\s+")


def _windows(text: str, size: int) -> Iterator[str]:
    """``text`` cut into pieces of about ``size`` characters at sentence ends (else at spaces)."""
    start = 0
    while len(text) - start > size:
        window = text[start:start + size]
        cut = None
        for m in _SURE_END.finditer(window, size // 2):
            cut = m.end()
        if cut is None:
            space = window.rfind(" ", size // 2)
            cut = space + 1 if space > 0 else size
        yield text[start:start + cut]
        start += cut
    yield text[start:]


def _huge_sentences(raw: str, language: str) -> Iterator[str]:
    """The sentences of a paragraph past ``HUGE_TEXT``, cleaned (``for_the_eye``) and split window
    by window: a regex substitution over the whole of it would hold one string per match (a
    space in 50 MB: 9 million of them, 500 MB)."""
    for window in _windows(raw, HUGE_WINDOW):
        yield from _plain_sentences(_WHITESPACE.sub(" ", for_the_eye(window, language)).strip())


def _plain_sentences(text: str) -> Iterator[str]:
    start = 0
    for m in _ANY_END.finditer(text):  # the pieces _ANY_END.split would give, without the list
        if piece := text[start:m.start()].strip():
            yield piece
        start = m.end()
    if piece := text[start:].strip():
        yield piece


def split_sentences(text: str, language: str = "en") -> list[str]:
    """Sentences of ``text`` (pysbd; languages pysbd lacks fall back to English rules), in time
    linear in the length of the text."""
    return list(iter_sentences(text, language))


def iter_sentences(text: str, language: str = "en") -> Iterator[str]:
    """``split_sentences`` one sentence at a time: a huge text is never held as a list of them."""
    if len(text) > HUGE_TEXT:
        for window in _windows(text, HUGE_WINDOW):
            yield from _plain_sentences(_WHITESPACE.sub(" ", window).strip())
        return
    text = _WHITESPACE.sub(" ", text).strip()
    if not text:
        return
    segmenter = _segmenter(language)
    for piece in _windows(text, SBD_WINDOW):
        for s in segmenter.segment(piece):
            if s := s.strip():
                yield s


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
        return {"index": self.index, "chapter_index": self.chapter_index, "paragraph_index": self.paragraph_index,
                "text": self.text, "sentences": list(self.sentences), "pause_after": self.pause_after,
                "text_hash": self.text_hash, "spoken": self.spoken, "spoken_sentences": list(self.spoken_sentences)}

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
    return list(iter_chunks(chapters, max_chars, language))


def iter_chunks(chapters: Iterable[Chapter], max_chars: int, language: str = "en") -> Iterator[Chunk]:
    """``plan_chunks`` one chunk at a time (a chunk is held back until the next one shows whether
    it ends its chapter), so a huge book is never held as a list of chunks."""
    if max_chars < 20:
        raise ValueError("max_chars must be at least 20")
    index = 0
    held: Chunk | None = None

    def make(ci: int, pi: int, pairs: list[tuple[str, str]], pause: str) -> Chunk:
        nonlocal index
        sents = [d for d, _ in pairs]
        spoken = [sp for _, sp in pairs]
        text = " ".join(d for d in sents if d)
        index += 1
        return Chunk(index - 1, ci, pi, text, sents, pause, spoken_hash(spoken), " ".join(spoken), spoken)

    for ci, chapter in enumerate(chapters):
        for chunk in _chapter_chunks(ci, chapter, max_chars, language, make):
            if held is not None:
                yield held
            held = chunk
        if held is not None:  # every chapter has its heading chunk, so this one ends it
            held.pause_after = "chapter"
    if held is not None:
        yield held


def _chapter_chunks(ci: int, chapter: Chapter, max_chars: int, language: str, make) -> Iterator[Chunk]:
    shown, said = heading_for_the_eye(chapter.title, language), heading_for_the_ear(chapter.title, language)
    if max(len(shown), len(said)) <= max_chars:
        yield make(ci, -1, [(shown, said)], "paragraph")
    else:
        for pair in _pairs(shown, max_chars, language):
            yield make(ci, -1, [pair], "paragraph")
    pi = -1
    for raw in chapter.paragraphs:
        if len(raw) > HUGE_TEXT:
            sentences = _huge_sentences(raw, language)
            first = next(sentences, None)
            if first is None:
                continue
            sentences = itertools.chain([first], sentences)
        else:
            para = for_the_eye(raw, language)
            if not para.strip():
                continue
            sentences = iter_sentences(para, language)
        pi += 1
        group: list[tuple[str, str]] = []
        size = 0
        for sent in sentences:
            if not _audible(sent):
                continue
            for pair in _pairs(sent, max_chars, language):
                n = max(len(pair[0]), len(pair[1]))
                if group and size + 1 + n > max_chars:
                    yield make(ci, pi, group, "sentence")
                    group, size = [], 0
                group.append(pair)
                size = size + 1 + n if size else n
        if group:
            yield make(ci, pi, group, "paragraph")


def _json_block(d: dict[str, Any], pad: str) -> str:
    """``json.dumps(d, indent=2, ensure_ascii=False)`` nested at ``pad`` for a flat dict of strings,
    numbers and lists of strings, without the pure-Python indenting encoder (4x slower)."""
    enc, inner = encode_basestring, pad + "  "
    parts = []
    for key, value in d.items():
        if isinstance(value, list):
            value = ("[\n" + ",\n".join(f"{inner}  {enc(x)}" for x in value) + f"\n{inner}]") if value else "[]"
        else:
            value = enc(value) if isinstance(value, str) else json.dumps(value)
        parts.append(f"{inner}{enc(key)}: {value}")
    return "{\n" + ",\n".join(parts) + f"\n{pad}}}"


@dataclass(frozen=True)
class PlanSummary:
    chunks: int
    longest: int  # characters of the longest chunk, display or spoken
    data_version: str  # sha256_text of every chunk's text_hash, first 16 hex digits


def write_chunk_plan(path: Path | str, chapters: list[Chapter], max_chars: int, language: str = "en",
                     **header: Any) -> PlanSummary:
    """Plan the chunks of ``chapters`` into the JSON file ``path`` as they are made (a temp name,
    then renamed): ``{**header, "language", "chunk_limit", "chapters": [...], "chunks": [...]}``,
    the same bytes ``atomic_write_json`` would write for the whole plan."""
    head = {**header, "language": language, "chunk_limit": max_chars,
            "chapters": [{"index": i, "title": c.title, "kind": c.kind} for i, c in enumerate(chapters)]}
    digest, count, longest = hashlib.sha256(), 0, 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        opening = json.dumps({**head, "chunks": []}, indent=2, ensure_ascii=False)
        fh.write(opening[:opening.rindex("[]")] + "[")
        for chunk in iter_chunks(chapters, max_chars, language):
            fh.write(("," if count else "") + "\n    " + _json_block(chunk.to_dict(), "    "))
            digest.update(chunk.text_hash.encode("utf-8") + b"\x00")  # as sha256_text hashes parts
            count += 1
            longest = max(longest, len(chunk.text), len(chunk.spoken))
        fh.write("\n  ]\n}\n" if count else "]\n}\n")
    return PlanSummary(count, longest, digest.hexdigest()[:16])
