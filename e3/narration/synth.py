"""Chunk synthesis: one FLAC plus a JSON sidecar per narration chunk, resumable and parallel.

    spec = {"voice_model": "piper"}                    # picklable; each worker builds its backend
    backend = make_backend(**spec)
    name = chunk_audio_name(chunk.text_hash, backend.voice_key())
    jobs = [(chunk.spoken, folder / f"{name}.flac", chunk.spoken_sentences, chunk.sentences), ...]
    sidecars = synthesize_chunks(jobs, spec, on_done=lambda n, total, path: print(f"{n}/{total}"))

A job is ``(text, out_path)`` or ``(text, out_path, spoken_sentences, display_sentences)``: the
voice reads the spoken sentences one by one and the sidecar's sentence timings carry the display
sentences (what subtitles show); a reused sidecar gets the current display texts.

Files: ``<name>.flac`` and ``<name>.json``. Both are written atomically, the sidecar AFTER the
audio, so a sidecar's presence means its chunk is complete; a rerun skips those chunks. A kill
loses only the chunks in flight and leaves at most ``.part`` temp files, which
``e3.fsutil.remove_stale_parts`` clears.

Why FLAC: lossless (the m4b is encoded to AAC exactly once, later), about half the size of WAV,
and it keeps the exact sample count. It is encoded by the FFmpeg binary we already ship, fed
PCM on stdin (soundfile is not installed). ``.wav`` output paths are written with ``wave``.
"""

from __future__ import annotations

import json
import os
import time
import wave
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from e3.errors import E3Error
from e3.fsutil import atomic_path, atomic_write_json, sha256_text
from e3.media.ffmpeg import run_ffmpeg
from e3.narration.tts import TTSBackend, TTSError, make_backend

__all__ = ["chunk_audio_name", "sidecar_path", "read_sidecar", "synthesize_to_file",
           "synthesize_chunks", "default_workers", "AUDIO_EXT"]

AUDIO_EXT = ".flac"


def chunk_audio_name(text_hash: str, voice_key: str) -> str:
    """File stem for a chunk: 24 hex chars of sha256(text hash, voice key)."""
    return sha256_text(text_hash, voice_key)[:24]


def sidecar_path(audio_path: Path | str) -> Path:
    """``<name>.json`` beside ``<name>.flac``."""
    return Path(audio_path).with_suffix(".json")


def read_sidecar(audio_path: Path | str) -> dict[str, Any] | None:
    """The sidecar of a finished chunk, or None when the chunk is missing or incomplete."""
    audio, side = Path(audio_path), sidecar_path(audio_path)
    if not (side.is_file() and audio.is_file()):
        return None
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "duration" in data else None


def _write_audio(samples: np.ndarray, rate: int, out_path: Path) -> None:
    pcm = np.ascontiguousarray(samples, dtype="<i2").tobytes()
    with atomic_path(out_path) as tmp:
        if out_path.suffix.lower() == ".wav":
            with wave.open(str(tmp), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(rate)
                w.writeframes(pcm)
        elif out_path.suffix.lower() == ".flac":
            run_ffmpeg(["-y", "-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0",
                        "-c:a", "flac", "-compression_level", "5", "-f", "flac", str(tmp)],
                       what=f"FLAC encoding of {out_path.name}", input_bytes=pcm)
        else:
            raise TTSError(f"chunk audio must be .flac or .wav, not {out_path.name}")


def _norm(text: str) -> str:
    return " ".join(text.split())


def _sentence_dicts(timings, spoken: list[str] | None, display: list[str] | None) -> list[dict[str, Any]]:
    """Sidecar sentences: each timing labelled with its display sentence (by position in ``spoken``)."""
    out = [t.to_dict() for t in timings]
    if spoken is None:
        return out
    display = spoken if display is None else display
    j = 0
    for d in out:
        k = j
        while k < len(spoken) and _norm(spoken[k]) != _norm(d["text"]):
            k += 1
        if k == len(spoken):
            continue  # the backend split differently: keep its own text
        d.update(text=display[k] if k < len(display) else d["text"], spoken=d["text"], index=k)
        j = k + 1
    return out


def synthesize_to_file(backend: TTSBackend, text: str, out_path: Path | str,
                       sentences: list[str] | None = None,
                       display: list[str] | None = None) -> dict[str, Any]:
    """Synthesize ``text`` into ``out_path`` (.flac or .wav) and its sidecar; return the sidecar.

    ``sentences``: the spoken sentences to voice one by one (default: ``text`` split by the
    backend); ``display``: the text each of them shows in subtitles (same length).
    Sidecar: ``{"audio", "duration", "sample_rate", "samples", "sentences": [{text,start,end}],
    "words": [{word,start,end}] | null, "voice_key"}``; times are seconds from the chunk start.
    With ``sentences``, each sentence also has ``spoken`` and ``index`` (its position).
    """
    out_path = Path(out_path)
    if out_path.suffix.lower() not in (".flac", ".wav"):
        raise TTSError(f"chunk audio must be .flac or .wav, not {out_path.name}")
    if display is not None and sentences is not None and len(display) != len(sentences):
        raise TTSError(f"{len(sentences)} spoken sentences but {len(display)} display sentences")
    result = backend.synthesize(text) if sentences is None else backend.synthesize(text, sentences=sentences)
    _write_audio(result.samples, result.sample_rate, out_path)
    meta = {
        "audio": out_path.name,
        "duration": len(result.samples) / result.sample_rate,
        "sample_rate": result.sample_rate,
        "samples": int(len(result.samples)),
        "sentences": _sentence_dicts(result.sentences, sentences, display),
        "words": None if result.words is None else [w.to_dict() for w in result.words],
        "voice_key": backend.voice_key(),
    }
    atomic_write_json(sidecar_path(out_path), meta)  # last: its presence marks the chunk done
    return meta


def _refresh_display(meta: dict[str, Any], out: Path, display: list[str] | None) -> dict[str, Any]:
    """A reused sidecar with the current display sentences (a display-only edit keeps the audio)."""
    if display is None:
        return meta
    changed = False
    for d in meta.get("sentences") or []:
        k = d.get("index")
        if isinstance(k, int) and 0 <= k < len(display) and d.get("text") != display[k]:
            d["text"] = display[k]
            changed = True
    if changed:
        atomic_write_json(sidecar_path(out), meta)
    return meta


# --------------------------------------------------------------------------------------------
# Worker processes
# --------------------------------------------------------------------------------------------

_WORKER_BACKEND: TTSBackend | None = None
_WORKER_ERROR: BaseException | None = None


def _build(spec: dict[str, Any], threads: int | None) -> TTSBackend:
    spec = dict(spec)
    voice_model = spec.pop("voice_model", "piper")
    voice_sample_path = spec.pop("voice_sample_path", None)
    if voice_model == "piper" and threads and "threads" not in spec:
        spec["threads"] = threads
    return make_backend(voice_model, voice_sample_path, **spec)


def die_with_parent(parent_pid: int) -> None:
    """Make this worker process end when ``parent_pid`` does, even by SIGKILL: Linux's
    PR_SET_PDEATHSIG where there is one, and everywhere a thread that watches the parent."""
    import signal
    import threading

    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before the line above ran
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="e3-parent-watch", daemon=True).start()


def _init_worker(spec: dict[str, Any], threads: int | None, parent_pid: int | None = None) -> None:
    """Pool initializer: tie the process to its parent, then load the voice once for this
    process (kept for all its jobs)."""
    import signal

    global _WORKER_BACKEND, _WORKER_ERROR
    # Ctrl-C in a terminal reaches the whole process group: the parent decides what stops (it
    # ends the pool), a worker that raised KeyboardInterrupt mid-queue could leave it waiting.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent_pid is not None:
        die_with_parent(parent_pid)
    try:
        _WORKER_BACKEND = _build(spec, threads)
    except BaseException as exc:  # noqa: BLE001 - re-raised by the first job, with its message
        _WORKER_ERROR = exc


def _worker_job(text: str, out: str, sentences: list[str] | None = None,
                display: list[str] | None = None) -> dict[str, Any]:
    if _WORKER_ERROR is not None:
        raise _WORKER_ERROR
    assert _WORKER_BACKEND is not None
    return synthesize_to_file(_WORKER_BACKEND, text, Path(out), sentences, display)


def default_workers(backend_spec: dict[str, Any], jobs: int) -> tuple[int, int | None]:
    """(processes, onnxruntime threads per process) for ``jobs`` chunks.

    Piper, measured with ``bench/tts.py`` on this 2-vCPU box (one physical core, two
    hyperthreads), 4,940 chars in 11 chunks, voice loading included: on a quiet machine
    1 process x default threads 12.2 s, 2 processes x 1 thread 12.4 s, plain Piper loop 12.0 s,
    i.e. a tie, as DESIGN.md says. With other jobs on the box, 2 x 1 degraded far less (21.7 s vs
    46.2 s): onnxruntime's default pool spin-waits when cores are oversubscribed, and
    2 processes x default threads is worst of all (about half the rate). So: one process per core
    (max 4, ~250 MB per loaded voice), one intra-op thread each; this also scales on bigger
    machines, where espeak and our word mapping (single-threaded) would otherwise idle cores.
    A single job runs in one process with default threads.
    openai_tts: network-bound, so 4 processes regardless of cores.
    """
    cores = os.cpu_count() or 1
    if backend_spec.get("voice_model", "piper") != "piper":
        return max(1, min(4, jobs)), None
    procs = max(1, min(cores, 4, jobs))
    return procs, (1 if procs > 1 else None)


def synthesize_chunks(jobs: list[tuple], backend_spec: dict[str, Any],
                      workers: int | None = None,
                      on_done: Callable[[int, int, Path], None] | None = None,
                      threads: int | None = None) -> list[dict[str, Any]]:
    """Synthesize every ``(text, out_path[, spoken_sentences, display_sentences])`` job whose
    sidecar is missing; return all sidecars (reused ones relabelled with the display sentences).

    ``backend_spec``: picklable ``make_backend`` arguments, e.g. ``{"voice_model": "piper",
    "voice_sample_path": "/v/x.onnx", "length_scale": 1.0}``. ``workers``: processes (None: see
    ``default_workers``; 0: synthesize in this process, no pool). ``on_done(done, total, path)``
    is called in this process for every finished job, finished earlier ones first. Results are in
    job order. The first failure stops the run (in-flight chunks still finish and are kept) and
    is raised as TTSError.
    """
    full = [_job(j) for j in jobs]
    jobs = [(text, out) for text, out, _, _ in full]
    total = len(jobs)
    results: dict[Path, dict[str, Any]] = {}
    todo: dict[Path, tuple[str, list[str] | None, list[str] | None]] = {}
    for text, out, sents, display in full:
        meta = read_sidecar(out)
        if meta is not None:
            results[out] = _refresh_display(meta, out, display)
        elif out not in todo:
            todo[out] = (text, sents, display)
    done = 0

    def report(path: Path) -> None:
        nonlocal done
        done += 1
        if on_done is not None:
            on_done(done, total, path)

    finished: set[Path] = set()
    for _, out in jobs:  # resumed chunks count as done first, so progress starts where it was
        if out in results and out not in finished:
            finished.add(out)
            report(out)

    if todo:
        procs, auto_threads = default_workers(backend_spec, len(todo))
        if workers is not None:
            procs = max(0, int(workers))
            auto_threads = 1 if procs > 1 else None  # more processes than this would oversubscribe
        threads = threads if threads is not None else auto_threads
        if procs == 0:
            backend = _build(backend_spec, threads)
            for out, (text, sents, display) in todo.items():
                results[out] = synthesize_to_file(backend, text, out, sents, display)
                report(out)
        else:
            _run_pool(todo, backend_spec, procs, threads, results, report)

    return [results[out] for _, out in jobs]


def _job(job: tuple) -> tuple[str, Path, list[str] | None, list[str] | None]:
    """A job as (text, out, spoken sentences or None, display sentences or None)."""
    text, out, *rest = job
    sents = list(rest[0]) if len(rest) > 0 and rest[0] is not None else None
    display = list(rest[1]) if len(rest) > 1 and rest[1] is not None else None
    return text, Path(out), sents, display


def _run_pool(todo: dict[Path, tuple], spec: dict[str, Any], procs: int, threads: int | None,
              results: dict[Path, dict[str, Any]], report: Callable[[Path], None]) -> None:
    # spawn, not fork: the caller (Dagster) runs threads, and forking a threaded process can
    # deadlock; spawn also gives each worker a clean onnxruntime.
    ctx = get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=procs, mp_context=ctx, initializer=_init_worker,
                               initargs=(dict(spec), threads, os.getpid()))
    try:
        pending = {pool.submit(_worker_job, text, str(out), sents, display): out
                   for out, (text, sents, display) in todo.items()}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)  # report each chunk as it lands
            for fut in finished:
                out = pending.pop(fut)
                try:
                    results[out] = fut.result()
                except BrokenProcessPool:
                    raise TTSError("a synthesis worker process died (killed or out of memory); "
                                   "rerun to resume from the finished chunks") from None
                except E3Error:
                    raise
                except Exception as exc:  # noqa: BLE001 - a readable one-liner for the catalog
                    raise TTSError(f"synthesis of {out.name} failed: "
                                   f"{type(exc).__name__}: {exc}") from exc
                report(out)
    except BaseException as exc:
        if not isinstance(exc, Exception):  # interrupted (Ctrl-C, SIGTERM, Dagster's interrupt)
            _end_workers_now(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _end_workers_now(pool: ProcessPoolExecutor) -> None:
    """End the workers at once on an interrupt. A polite shutdown waits for the chunks being
    voiced, and a second interrupt inside it (Dagster forwards one to the step) left the workers
    waiting for work forever, the step's process unable to exit. Every worker is signalled
    before any is waited for, so a second interrupt here still leaves none running."""
    workers = list((getattr(pool, "_processes", None) or {}).values())  # no public handle before 3.14
    for worker in workers:
        worker.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.join(timeout=5)
