"""Subtitles from measured speech timings: SRT and WebVTT, sentence-level and word-level.

    sentences = timeline_from_chunks(sidecars, offsets)   # offsets: each chunk's start in the book
    cues = build_cues(sentences, audio_end=book_duration)
    srt, vtt = to_srt(cues), to_vtt(cues)
    words = words_from_chunks(sidecars, offsets)           # None when the voice gave no alignments
    if words: karaoke_vtt = to_vtt(word_cues(words, audio_end=book_duration))

Rules every cue list obeys: at most ``max_chars`` per line and ``max_lines`` lines, times in whole
milliseconds, each cue ends after it starts and no later than the next one starts, and nothing
runs past ``audio_end``.
"""

from __future__ import annotations

import bisect
import html
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from e3.errors import E3Error
from e3.narration.tts import SentenceTiming, WordTiming

__all__ = ["SubtitleError", "Cue", "timeline_from_chunks", "words_from_chunks", "build_cues",
           "word_cues", "wrap_lines", "to_srt", "to_vtt", "parse_srt", "parse_vtt"]


class SubtitleError(E3Error):
    """Subtitle input is inconsistent or a subtitle file cannot be parsed."""


@dataclass
class Cue:
    """One subtitle: seconds and its text lines; ``words`` (word-level VTT) carry word times."""

    start: float
    end: float
    lines: list[str]
    words: list[WordTiming] | None = field(default=None, compare=False)

    @property
    def text(self) -> str:
        return " ".join(self.lines)


# --------------------------------------------------------------------------------------------
# Timelines
# --------------------------------------------------------------------------------------------

def _check_offsets(chunks: Sequence[dict[str, Any]], offsets: Sequence[float]) -> None:
    if len(chunks) != len(offsets):
        raise SubtitleError(f"{len(chunks)} chunks but {len(offsets)} offsets")


def timeline_from_chunks(chunks: Sequence[dict[str, Any]], offsets: Sequence[float]) -> list[SentenceTiming]:
    """Every chunk's sentences shifted by that chunk's start time in the final audio."""
    _check_offsets(chunks, offsets)
    out: list[SentenceTiming] = []
    for chunk, off in zip(chunks, offsets):
        for s in chunk.get("sentences") or []:
            out.append(SentenceTiming(s["text"], off + float(s["start"]), off + float(s["end"])))
    return out


def words_from_chunks(chunks: Sequence[dict[str, Any]], offsets: Sequence[float]) -> list[WordTiming] | None:
    """Word timeline like ``timeline_from_chunks``; None if any chunk has no word timings."""
    _check_offsets(chunks, offsets)
    out: list[WordTiming] = []
    for chunk, off in zip(chunks, offsets):
        words = chunk.get("words")
        if words is None:
            return None
        out.extend(WordTiming(w["word"], off + float(w["start"]), off + float(w["end"]),
                              bool(w.get("guessed", False))) for w in words)
    return out


# --------------------------------------------------------------------------------------------
# Line breaking
# --------------------------------------------------------------------------------------------

def _units(text: str, max_chars: int) -> list[str]:
    """Words of a text; a word longer than a line is cut into line-sized pieces."""
    out: list[str] = []
    for w in text.split():
        while len(w) > max_chars:
            out.append(w[:max_chars])
            w = w[max_chars:]
        if w:
            out.append(w)
    return out


def _greedy(units: Sequence[str], width: int) -> list[list[str]]:
    lines: list[list[str]] = []
    cur: list[str] = []
    length = 0
    for u in units:
        add = len(u) if not cur else length + 1 + len(u)
        if cur and add > width:
            lines.append(cur)
            cur, length = [u], len(u)
        else:
            cur.append(u)
            length = add
    if cur:
        lines.append(cur)
    return lines


def _wrap_units(units: Sequence[str], max_chars: int, max_lines: int) -> list[list[str]] | None:
    """Balanced lines (the narrowest width that still fits in ``max_lines``), or None."""
    if not units:
        return []
    if any(len(u) > max_chars for u in units) or len(_greedy(units, max_chars)) > max_lines:
        return None
    lines_needed = len(_greedy(units, max_chars))
    lo = max(max(len(u) for u in units), 1)
    for width in range(lo, max_chars + 1):
        lines = _greedy(units, width)
        if len(lines) <= lines_needed:
            return lines
    return _greedy(units, max_chars)


def wrap_lines(text: str, max_chars: int = 42, max_lines: int = 2) -> list[str] | None:
    """Text as at most ``max_lines`` balanced lines of ``max_chars``; None if it does not fit."""
    lines = _wrap_units(_units(text, max_chars), max_chars, max_lines)
    return None if lines is None else [" ".join(line) for line in lines]


def _pieces(units: list[str], max_chars: int, max_lines: int) -> list[list[str]]:
    """Split units into the fewest cue-sized pieces, then even them out by length."""

    def pack(budget: int) -> list[list[str]]:
        pieces: list[list[str]] = []
        cur: list[str] = []
        for u in units:
            cand = cur + [u]
            if cur and (len(" ".join(cand)) > budget or len(_greedy(cand, max_chars)) > max_lines):
                pieces.append(cur)
                cur = [u]
            else:
                cur = cand
        if cur:
            pieces.append(cur)
        return pieces

    capacity = max_chars * max_lines + max_lines - 1
    best = pack(capacity)
    target = len(best)
    total = len(" ".join(units))
    # Lower the budget while the piece count stays the same: avoids a lonely last word.
    for budget in range(math.ceil(total / target), capacity):
        cand = pack(budget)
        if len(cand) == target:
            return cand
    return best


# --------------------------------------------------------------------------------------------
# Cues
# --------------------------------------------------------------------------------------------

def _finalize(raw: list[Cue], min_duration: float, audio_end: float | None) -> list[Cue]:
    """Whole milliseconds; no overlap; stretch short cues into free time; clip at audio_end."""
    end_ms_cap = math.floor(audio_end * 1000) if audio_end is not None else None
    raw = sorted(raw, key=lambda c: c.start)
    out: list[Cue] = []
    prev_end = 0
    for i, cue in enumerate(raw):
        s = max(round(cue.start * 1000), prev_end, 0)
        e = round(cue.end * 1000)
        limit = round(raw[i + 1].start * 1000) if i + 1 < len(raw) else None
        if e - s < min_duration * 1000:
            want = s + round(min_duration * 1000)
            e = max(e, want if limit is None else min(want, max(limit, e)))
        if end_ms_cap is not None:
            e = min(e, end_ms_cap)
        if e <= s:
            continue  # nothing audible left for it (past the end, or a zero-length span)
        words = None
        if cue.words is not None:
            words = [WordTiming(w.word, min(max(w.start, s / 1000), e / 1000),
                                min(max(w.end, s / 1000), e / 1000)) for w in cue.words]
        out.append(Cue(s / 1000, e / 1000, cue.lines, words))
        prev_end = e
    return out


def _sentence_words(sent: SentenceTiming, words: Sequence[WordTiming],
                    starts: Sequence[float]) -> list[WordTiming] | None:
    """The timed words inside a sentence's span, if their letters spell the sentence."""
    lo = bisect.bisect_left(starts, sent.start - 1e-6)
    hi = bisect.bisect_right(starts, sent.end + 1e-6)
    ws = [w for w in words[lo:hi] if w.word.strip()]
    if ws and "".join("".join(w.word.split()) for w in ws) == "".join(sent.text.split()):
        return ws
    return None


def _piece_times(pieces: list[list[str]], ws: list[WordTiming],
                 sent: SentenceTiming) -> list[tuple[float, float]] | None:
    """Cue spans from word times: a cue starts at its first word's start and ends at its last
    word's end (a word cut across cues is shared by characters). The sentence's own start and
    end stay the outer edges. None if the words give no usable order."""
    bounds, pos = [], 0  # (first char, end char) of each word in the text without spaces
    for w in ws:
        n = len("".join(w.word.split()))
        bounds.append((pos, pos + n, w))
        pos += n

    def at(char: int, edge: str) -> float:
        for c0, c1, w in bounds:
            if c0 <= char < c1 or (edge == "end" and char == c1):
                if edge == "start" and char == c0:
                    return w.start
                if edge == "end" and char == c1:
                    return w.end
                return w.start + (w.end - w.start) * (char - c0) / (c1 - c0)
        return sent.end

    out, char = [], 0
    for k, piece in enumerate(pieces):
        n = sum(len(u) for u in piece)
        start = sent.start if k == 0 else at(char, "start")
        char += n
        end = sent.end if k == len(pieces) - 1 else at(char, "end")
        out.append((start, end))
    for k, (s, e) in enumerate(out):
        if e <= s or (k and s < out[k - 1][1]) or s < sent.start or e > sent.end:
            return None
    return out


def build_cues(sentences: Sequence[SentenceTiming], max_chars: int = 42, max_lines: int = 2,
               min_duration: float = 0.8, audio_end: float | None = None,
               words: Sequence[WordTiming] | None = None) -> list[Cue]:
    """One cue per sentence; a sentence too long for one cue becomes several in a row, split
    where its words are measured to start and end (``words``, e.g. ``words_from_chunks``), or,
    without word times, its time shared in proportion to their characters. ``min_duration``
    stretches short cues into the silence after them, never over the next cue. Cues never pass
    ``audio_end``."""
    if max_chars < 8 or max_lines < 1:
        raise SubtitleError("max_chars must be at least 8 and max_lines at least 1")
    words = sorted(words, key=lambda w: w.start) if words else []
    starts = [w.start for w in words]
    raw: list[Cue] = []
    for sent in sentences:
        units = _units(sent.text, max_chars)
        if not units or sent.end <= sent.start:
            continue
        pieces = _pieces(units, max_chars, max_lines)
        times = None
        if len(pieces) > 1 and words:
            ws = _sentence_words(sent, words, starts)
            times = _piece_times(pieces, ws, sent) if ws else None
        if times is None:
            weights = [len(" ".join(p)) + 1 for p in pieces]
            total = sum(weights)
            span = sent.end - sent.start
            times, t = [], sent.start
            for w in weights:
                times.append((t, t + span * w / total))
                t += span * w / total
            times[-1] = (times[-1][0], sent.end)
        for piece, (start, end) in zip(pieces, times):
            lines = _wrap_units(piece, max_chars, max_lines) or [piece]
            raw.append(Cue(start, end, [" ".join(line) for line in lines]))
    return _finalize(raw, min_duration, audio_end)


_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")


def word_cues(words: Sequence[WordTiming], max_chars: int = 42, max_lines: int = 1,
              max_gap: float = 0.6, min_duration: float = 0.3,
              audio_end: float | None = None) -> list[Cue]:
    """Short phrase cues carrying their words' times, for a word-level (karaoke) WebVTT.

    A phrase ends at a sentence end, at a pause longer than ``max_gap`` seconds, or when it
    would no longer fit ``max_lines`` x ``max_chars``. ``to_vtt`` renders each word's start as
    a WebVTT timestamp tag.
    """
    raw: list[Cue] = []
    phrase: list[WordTiming] = []

    def flush() -> None:
        # Split a phrase into even cue-sized pieces (no lonely last word), keeping word times.
        units = [w.word for w in phrase]
        i = 0
        for piece in _pieces(units, max_chars, max_lines) if units else []:
            ws = phrase[i:i + len(piece)]
            i += len(piece)
            lines = _wrap_units(piece, max_chars, max_lines) or [piece]
            raw.append(Cue(ws[0].start, max(ws[-1].end, ws[0].start), [" ".join(x) for x in lines], ws))
        phrase.clear()

    for w in words:
        if not w.word.strip():
            continue
        if phrase and w.start - phrase[-1].end > max_gap:
            flush()
        phrase.append(w)
        if _SENTENCE_END.search(w.word):
            flush()
    flush()
    return _finalize(raw, min_duration, audio_end)


# --------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------

def _ts(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(cues: Iterable[Cue]) -> str:
    """SubRip text (numbered blocks, ``HH:MM:SS,mmm``)."""
    blocks = []
    for i, c in enumerate(cues, 1):
        lines = [line.replace("-->", "->") for line in c.lines]
        blocks.append(f"{i}\n{_ts(c.start, ',')} --> {_ts(c.end, ',')}\n" + "\n".join(lines) + "\n")
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("-->", "--&gt;")


def _vtt_word_lines(c: Cue) -> list[str]:
    """Cue lines with ``<timestamp><c>word</c>`` tags; stamps strictly rise inside the cue."""
    words = list(c.words or [])
    out: list[str] = []
    last = round(c.start * 1000)
    end = round(c.end * 1000)
    i = 0
    for line in c.lines:
        parts: list[str] = []
        taken = ""
        while i < len(words) and (not taken or len(taken) < len(line)):
            w = words[i]
            at = round(w.start * 1000)
            tag = ""
            if last < at < end:
                tag = f"<{_ts(at / 1000, '.')}>"
                last = at
            parts.append(f"{tag}<c>{_vtt_escape(w.word)}</c>")
            taken = f"{taken} {w.word}" if taken else w.word
            i += 1
        out.append(" ".join(parts) if parts else _vtt_escape(line))
    return out


def to_vtt(cues: Iterable[Cue]) -> str:
    """WebVTT text. Cues with ``words`` get per-word timestamp tags (karaoke style)."""
    blocks = ["WEBVTT\n"]
    for c in cues:
        lines = _vtt_word_lines(c) if c.words else [_vtt_escape(line) for line in c.lines]
        blocks.append(f"{_ts(c.start, '.')} --> {_ts(c.end, '.')}\n" + "\n".join(lines) + "\n")
    return "\n".join(blocks)


_TIME = r"(?:(\d+):)?(\d{2}):(\d{2})[,.](\d{3})"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")
_TAG_TS = re.compile(r"<(\d+:)?(\d{2}):(\d{2})\.(\d{3})>")
_TAG = re.compile(r"<[^>]*>")


def _secs(h: str | None, m: str, s: str, ms: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def _blocks(text: str) -> list[list[str]]:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return [b.split("\n") for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]


def parse_srt(text: str) -> list[Cue]:
    """Read SubRip text back into cues."""
    cues: list[Cue] = []
    for block in _blocks(text):
        idx = next((i for i, line in enumerate(block) if "-->" in line), None)
        m = _TIMING.match(block[idx]) if idx is not None else None
        if not m:
            raise SubtitleError(f"SRT block without a valid timing line: {block[0][:60]!r}")
        g = m.groups()
        cues.append(Cue(_secs(*g[:4]), _secs(*g[4:]), [line for line in block[idx + 1:] if line]))
    return cues


def parse_vtt(text: str) -> list[Cue]:
    """Read WebVTT back into cues; tags are stripped, word timestamp tags become ``words``."""
    blocks = _blocks(text)
    if not blocks or not blocks[0][0].startswith("WEBVTT"):
        raise SubtitleError("not a WebVTT file: it must start with WEBVTT")
    cues: list[Cue] = []
    for block in blocks[1:]:
        if block[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        idx = next((i for i, line in enumerate(block) if "-->" in line), None)
        m = _TIMING.match(block[idx]) if idx is not None else None
        if not m:
            raise SubtitleError(f"WebVTT block without a valid timing line: {block[0][:60]!r}")
        g = m.groups()
        start, end = _secs(*g[:4]), _secs(*g[4:])
        raw_lines = [line for line in block[idx + 1:] if line]
        lines = [html.unescape(_TAG.sub("", line)) for line in raw_lines]
        words = None
        if any("<c>" in line for line in raw_lines):
            words = []
            t = start
            for line in raw_lines:
                for m2 in re.finditer(r"(?:<(\d+:)?(\d{2}):(\d{2})\.(\d{3})>)?<c>(.*?)</c>", line):
                    if m2.group(2):
                        h = m2.group(1)[:-1] if m2.group(1) else None
                        t = _secs(h, m2.group(2), m2.group(3), m2.group(4))
                    words.append(WordTiming(html.unescape(m2.group(5)), t, t))
            words = [WordTiming(w.word, w.start, words[i + 1].start if i + 1 < len(words) else end)
                     for i, w in enumerate(words)]
        cues.append(Cue(start, end, lines, words))
    return cues
