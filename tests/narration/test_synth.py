"""Chunk files: atomic FLAC + sidecar, resume, worker pool, and real kills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from e3.fsutil import remove_stale_parts, sha256_text
from e3.media.ffmpeg import decode_duration, probe_duration
from e3.narration import synth
from e3.narration.synth import chunk_audio_name, read_sidecar, sidecar_path, synthesize_chunks, synthesize_to_file
from e3.narration.tts import PiperBackend, TTSError

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["The first chunk is short.", "A second chunk follows. It has two sentences.",
         "Third comes here.", "And the fourth ends it."]


@pytest.fixture(scope="module")
def backend() -> PiperBackend:
    return PiperBackend()


def test_chunk_audio_name_is_stable_and_voice_dependent(backend):
    h = sha256_text("hello")
    name = chunk_audio_name(h, backend.voice_key())
    assert len(name) == 24 and all(c in "0123456789abcdef" for c in name)
    assert name == chunk_audio_name(h, backend.voice_key())
    assert name != chunk_audio_name(h, PiperBackend(length_scale=1.3).voice_key())
    assert name != chunk_audio_name(sha256_text("hello!"), backend.voice_key())


def test_synthesize_to_file_writes_flac_then_sidecar(tmp_path, backend):
    out = tmp_path / "c" / "abc.flac"
    meta = synthesize_to_file(backend, "Hello there. This is a chunk.", out)
    assert out.is_file() and sidecar_path(out).is_file()
    assert json.loads(sidecar_path(out).read_text()) == meta
    assert meta["sample_rate"] == 22050 and meta["samples"] == round(meta["duration"] * 22050)
    assert meta["voice_key"] == backend.voice_key() and meta["audio"] == "abc.flac"
    assert [s["text"] for s in meta["sentences"]] == ["Hello there.", "This is a chunk."]
    assert meta["sentences"][-1]["end"] == pytest.approx(meta["duration"], abs=0.05)
    assert [w["word"] for w in meta["words"]] == "Hello there. This is a chunk.".split()
    assert probe_duration(out) == pytest.approx(meta["duration"], abs=0.02)
    assert decode_duration(out) == pytest.approx(meta["duration"], abs=0.05)
    assert not list(out.parent.glob(".*part*"))
    wav = synthesize_to_file(backend, "A wave file.", tmp_path / "w.wav")
    assert probe_duration(tmp_path / "w.wav") == pytest.approx(wav["duration"], abs=0.01)
    with pytest.raises(TTSError, match="flac or .wav"):
        synthesize_to_file(backend, "x", tmp_path / "x.mp3")


def test_resume_in_process_counts_synth_calls(tmp_path, monkeypatch):
    calls: list[str] = []
    real = PiperBackend.synthesize

    def counting(self, text):
        calls.append(text)
        return real(self, text)

    monkeypatch.setattr(PiperBackend, "synthesize", counting)
    jobs = [(t, tmp_path / f"{i}.flac") for i, t in enumerate(TEXTS[:3])]
    seen = []
    first = synthesize_chunks(jobs, {"voice_model": "piper"}, workers=0,
                              on_done=lambda n, total, p: seen.append((n, total, p.name)))
    assert calls == TEXTS[:3] and seen == [(1, 3, "0.flac"), (2, 3, "1.flac"), (3, 3, "2.flac")]
    # A new job and a lost sidecar: only those two are synthesized again.
    sidecar_path(jobs[1][1]).unlink()
    jobs.append((TEXTS[3], tmp_path / "3.flac"))
    calls.clear()
    seen.clear()
    again = synthesize_chunks(jobs, {"voice_model": "piper"}, workers=0,
                              on_done=lambda n, total, p: seen.append((n, total, p.name)))
    assert calls == [TEXTS[1], TEXTS[3]]
    assert [s[:2] for s in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert again[0] == first[0] and again[2] == first[2]
    assert [m["audio"] for m in again] == ["0.flac", "1.flac", "2.flac", "3.flac"]


@pytest.mark.slow
def test_pool_synthesizes_and_resumes(tmp_path):
    jobs = [(t, tmp_path / f"{i}.flac") for i, t in enumerate(TEXTS)]
    progress = []
    metas = synthesize_chunks(jobs, {"voice_model": "piper", "length_scale": 0.9}, workers=2,
                              on_done=lambda n, total, p: progress.append((n, total)))
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [m["sentences"][0]["text"] for m in metas] == ["The first chunk is short.", "A second chunk follows.",
                                                        "Third comes here.", "And the fourth ends it."]
    for _, out in jobs:
        assert read_sidecar(out) is not None
    stamps = {out: out.stat().st_mtime_ns for _, out in jobs}
    # Rerun after losing one chunk's audio: only that chunk is written again.
    jobs[2][1].unlink()
    synthesize_chunks(jobs, {"voice_model": "piper", "length_scale": 0.9}, workers=1)
    for i, (_, out) in enumerate(jobs):
        if i != 2:
            assert out.stat().st_mtime_ns == stamps[out]
    assert jobs[2][1].is_file()


def test_worker_failure_is_a_clear_error(tmp_path):
    with pytest.raises(TTSError, match="nowhere.onnx"):
        synthesize_chunks([("Hi.", tmp_path / "a.flac"), ("Ho.", tmp_path / "b.flac")],
                          {"voice_model": "piper", "voice_sample_path": str(tmp_path / "nowhere.onnx")},
                          workers=2)
    with pytest.raises(TTSError, match="unknown voice model"):
        synthesize_chunks([("Hi.", tmp_path / "a.flac")], {"voice_model": "nope"}, workers=1)
    assert not list(tmp_path.iterdir())


def _spawn(script: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT, env=env,
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


@pytest.mark.slow
def test_kill_while_writing_leaves_no_final_file(tmp_path):
    out = tmp_path / "chunk.flac"
    long_text = " ".join(f"Sentence number {i} is spoken clearly." for i in range(4))
    proc = _spawn(f"""
        from pathlib import Path
        from e3.narration.synth import synthesize_to_file
        from e3.narration.tts import PiperBackend
        synthesize_to_file(PiperBackend(alignments=False), {long_text!r}, Path({str(out)!r}))
    """)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if list(tmp_path.glob(".*.part*")):  # the audio is being written right now
                break
            time.sleep(0.0005)
        else:
            pytest.fail(f"writer never started: {proc.stderr.read().decode()[-500:]}")
        os.kill(proc.pid, signal.SIGKILL)  # the worker dies; its ffmpeg child may run on
    finally:
        _kill_group(proc)
    assert not sidecar_path(out).exists()
    assert not out.exists() or read_sidecar(out) is None
    assert remove_stale_parts(tmp_path) >= 0
    meta = synthesize_chunks([(long_text, out)], {"voice_model": "piper"}, workers=0)[0]
    assert read_sidecar(out) == meta and not list(tmp_path.glob(".*.part*"))


@pytest.mark.slow
def test_kill_mid_run_then_rerun_completes(tmp_path):
    texts = [f"Chunk {i}. It says something short." for i in range(6)]
    jobs = [(t, tmp_path / f"{i}.flac") for i, t in enumerate(texts)]
    proc = _spawn(f"""
        from pathlib import Path
        from e3.narration.synth import synthesize_chunks
        jobs = [(t, Path(p)) for t, p in {[(t, str(p)) for t, p in jobs]!r}]
        synthesize_chunks(jobs, {{"voice_model": "piper"}}, workers=1)
    """)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if len([p for p in tmp_path.glob("*.json") if not p.name.startswith(".")]) >= 2:
                break
            time.sleep(0.01)
        else:
            pytest.fail(f"run never progressed: {proc.stderr.read().decode()[-500:]}")
    finally:
        _kill_group(proc)  # parent and pool worker die together, as on a kill of `e3 produce`
    done = [out for _, out in jobs if sidecar_path(out).exists()]
    assert 2 <= len(done) < 6
    for out in done:  # every sidecar that exists has its complete audio
        meta = read_sidecar(out)
        assert meta is not None and probe_duration(out) == pytest.approx(meta["duration"], abs=0.02)
    remove_stale_parts(tmp_path)
    calls = []
    synthesize_chunks(jobs, {"voice_model": "piper"}, workers=0, on_done=lambda n, t, p: calls.append(n))
    assert calls == [1, 2, 3, 4, 5, 6]
    assert all(read_sidecar(out) for _, out in jobs)


def test_default_workers_policy():
    procs, threads = synth.default_workers({"voice_model": "piper"}, 10)
    assert procs == max(1, min(os.cpu_count() or 1, 4))
    assert threads == (1 if procs > 1 else None)
    assert synth.default_workers({"voice_model": "piper"}, 1) == (1, None)
    assert synth.default_workers({"voice_model": "openai_tts"}, 10) == (4, None)


def test_jobs_with_spoken_and_display_sentences(tmp_path, backend):
    out = tmp_path / "d.flac"
    meta = synthesize_to_file(backend, "Henry the Eighth reigned. It rained.", out,
                              ["Henry the Eighth reigned.", "It rained."], ["Henry VIII reigned.", "It rained."])
    assert [(s["text"], s["spoken"], s["index"]) for s in meta["sentences"]] == [
        ("Henry VIII reigned.", "Henry the Eighth reigned.", 0), ("It rained.", "It rained.", 1)]
    with pytest.raises(TTSError, match="display sentences"):
        synthesize_to_file(backend, "A. B.", tmp_path / "e.flac", ["A.", "B."], ["A."])
