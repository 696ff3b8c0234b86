"""The built-in ambient synthesizer (music provider ``dummy``): real music, mood-driven, exact length."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from e3.errors import E3Error
from e3.media.ffmpeg import ffmpeg_exe
from e3.video.music import PROVIDER, MusicError, TrackInfo, style_for, synthesize_track

SR = 48000
SAD = "melancholic piano nocturne, lonely night"
BRIGHT = "upbeat bright summer morning, sunny and joyful"


def _wav(path: Path) -> tuple[np.ndarray, int, int]:
    with wave.open(str(path)) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, w.getnchannels())
        return frames.astype(np.float64) / 32768.0, w.getframerate(), w.getnchannels()


def _render(tmp_path: Path, prompt: str, seconds: float = 10.0, seed: int = 1, name: str | None = None):
    out = tmp_path / (name or f"t{abs(hash((prompt, seconds, seed)))}.wav")
    info = synthesize_track(prompt, seconds, out, sample_rate=SR, seed=seed)
    return info, *_wav(out)


def _avg_spectrum(x: np.ndarray, n: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Long-term average power spectrum of the mono mix (Welch, Hann windows)."""
    mono = x.mean(axis=1)
    win = np.hanning(n)
    frames = [mono[i:i + n] * win for i in range(0, len(mono) - n, n // 2)]
    power = np.mean([np.abs(np.fft.rfft(f)) ** 2 for f in frames], axis=0)
    return np.fft.rfftfreq(n, 1 / SR), power


def test_ten_seconds_of_real_stereo_music(tmp_path):
    info, x, sr, channels = _render(tmp_path, SAD)
    assert isinstance(info, TrackInfo) and PROVIDER == "dummy"
    assert (sr, channels) == (48000, 2)
    assert abs(len(x) / sr - 10.0) <= 0.05 and len(x) == 480000 and info.duration == pytest.approx(10.0)
    body = x[int(1.5 * sr): int(8 * sr)]
    rms_db = 20 * np.log10(np.sqrt(np.mean(body ** 2)))
    assert -30 < rms_db < -6, rms_db  # audible, not clipping-loud
    assert np.abs(x).max() < 0.999
    # Not a sine tone: many strong, separate spectral peaks and a broad spectrum.
    f, p = _avg_spectrum(body)
    db = 10 * np.log10(p / p.max() + 1e-20)
    peaks = [i for i in range(1, len(db) - 1) if db[i] > -30 and db[i] >= db[i - 1] and db[i] >= db[i + 1]]
    assert len(peaks) >= 12, len(peaks)
    band = (f > 60) & (f < 8000)
    flatness = np.exp(np.mean(np.log(p[band] + 1e-20))) / np.mean(p[band])
    assert flatness > 1e-6  # a pure tone is ~0 here
    assert sum(p[(f > 1000) & (f < 8000)]) / sum(p) > 1e-3  # overtones and highs, not just a hum
    # Stereo, not two copies of one channel.
    corr = np.corrcoef(body[:, 0], body[:, 1])[0, 1]
    assert corr < 0.98, corr
    # Things happen: the loudness moves from second to second (notes, chords), but never drops out.
    seconds = [np.sqrt(np.mean(x[i * sr:(i + 1) * sr] ** 2)) for i in range(1, 9)]
    assert min(seconds) > 0.01 and np.std(seconds) > 0.002
    # Fades at both ends.
    assert np.abs(x[:240]).max() < 0.05 and np.abs(x[-240:]).max() < 0.05


def test_moods_change_key_tempo_and_sound(tmp_path):
    sad, xs, _, _ = _render(tmp_path, SAD, seed=5)
    bright, xb, _, _ = _render(tmp_path, BRIGHT, seed=5)
    assert sad.mode in ("aeolian", "dorian", "phrygian")
    assert bright.mode in ("ionian", "lydian", "mixolydian")
    assert sad.tempo < 80 <= 90 < bright.tempo
    assert (sad.key, sad.mode, sad.tempo) != (bright.key, bright.mode, bright.tempo)
    assert sad.timbre != bright.timbre
    f, ps = _avg_spectrum(xs[SR:-SR])
    _, pb = _avg_spectrum(xb[SR:-SR])
    # Compare the spectral shapes in third-octave bands: clearly different, brighter for the bright mood.
    edges = 50 * 2 ** (np.arange(0, 27) / 3)
    bands = lambda p: np.array([p[(f >= a) & (f < b)].sum() for a, b in zip(edges[:-1], edges[1:])])  # noqa: E731
    bs, bb = bands(ps), bands(pb)
    diff = np.abs(10 * np.log10(bs / bs.sum() + 1e-12) - 10 * np.log10(bb / bb.sum() + 1e-12))
    assert diff.mean() > 3, diff.mean()
    above = f > 150  # above the bass and kick drum
    centroid = lambda p: (p[above] * f[above]).sum() / p[above].sum()  # noqa: E731
    assert centroid(pb) > centroid(ps)


def test_twenty_prompts_twenty_different_tracks():
    prompts = [f"{mood} ambient piece number {i}" for i, mood in enumerate(
        ["melancholic", "elegant classical", "dark mysterious", "upbeat summer", "lo-fi study", "celtic medieval",
         "ethereal space", "zen garden", "epic cinematic", "calm sleep"] * 2)]
    styles = [style_for(p, seed=3) for p in prompts]
    facts = {(s.key, s.mode, s.tempo, s.timbre) for s in styles}
    assert len(facts) == 20
    assert len({s.mode for s in styles}) >= 5 and len({s.tempo for s in styles}) >= 12


def test_prompt_facts_win():
    s = style_for("Court Nocturne: a nocturne for solo piano in F# minor, 64 BPM, with strings")
    assert (s.key, s.mode, s.tempo) == ("F#", "aeolian", 64)
    assert "piano" in s.timbre and "strings" in s.timbre
    s = style_for("a slow waltz for harp in Bb lydian, 92 BPM")
    assert (s.key, s.mode, s.tempo, s.meter) == ("Bb", "lydian", 92, 3)
    assert "harp" in s.timbre
    assert style_for("a minor detail of the harbour").profile  # "a minor" in prose is not a key
    assert style_for("lo-fi beats, crackling vinyl").texture == "crackle"


def test_deterministic_for_prompt_and_seed(tmp_path):
    a = tmp_path / "a.wav"
    b = tmp_path / "b.wav"
    c = tmp_path / "c.wav"
    synthesize_track(BRIGHT, 3.0, a, seed=11)
    synthesize_track(BRIGHT, 3.0, b, seed=11)
    synthesize_track(BRIGHT, 3.0, c, seed=12)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_flac_through_ffmpeg_exact_length_and_atomic(tmp_path):
    out = tmp_path / "music" / "track-01.flac"
    info = synthesize_track("celtic harp by the sea, dorian", 3.37, out, seed=2)
    assert info.path == out and out.is_file()
    assert [p.name for p in out.parent.iterdir()] == ["track-01.flac"]  # no temp file left behind
    pcm = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(out), "-f", "s16le", "-"],
                         capture_output=True, check=True).stdout
    assert len(pcm) // 4 == round(3.37 * SR)
    assert "harp" in info.timbre and info.mode == "dorian"


def test_bad_input_leaves_no_file(tmp_path):
    out = tmp_path / "x.wav"
    with pytest.raises(MusicError, match="non-empty prompt"):
        synthesize_track("  ", 5, out)
    with pytest.raises(E3Error, match="outside"):
        synthesize_track("calm", 0, out)
    with pytest.raises(MusicError, match="outside"):
        synthesize_track("calm", 5, out, sample_rate=1000)
    with pytest.raises(MusicError, match=r"\.wav or \.flac"):
        synthesize_track("calm", 1, tmp_path / "x.xyz")
    assert list(tmp_path.iterdir()) == []
