"""Real Piper synthesis with the bundled joe-us voice."""

from __future__ import annotations

import time

import numpy as np
import pytest

from e3.narration import tts
from e3.narration.tts import PiperBackend, TTSError, make_backend, split_sentences

TEXT = "The old mill stood by the river. Mr. Brown opened it at 6 a.m. every day! Did anyone notice?"


@pytest.fixture(scope="module")
def backend() -> PiperBackend:
    return PiperBackend()


@pytest.fixture(scope="module")
def result(backend):
    return backend.synthesize(TEXT)


def test_audio_is_real_speech_at_22050(backend, result):
    assert backend.sample_rate == 22050 and result.sample_rate == 22050
    assert result.samples.dtype == np.int16 and result.samples.ndim == 1
    assert 3.0 < result.duration < 15.0
    rms = float(np.sqrt(np.mean(result.samples.astype(np.float64) ** 2)))
    assert rms > 500, f"audio looks silent (rms={rms:.1f})"


def test_sentence_timings_are_measured_and_monotonic(result):
    texts = [s.text for s in result.sentences]
    assert texts == ["The old mill stood by the river.", "Mr. Brown opened it at 6 a.m. every day!",
                     "Did anyone notice?"]
    assert result.sentences[0].start == 0.0
    for a, b in zip(result.sentences, result.sentences[1:]):
        assert a.start < a.end <= b.start < b.end
        assert b.start - a.end == pytest.approx(0.3, abs=1 / 22050 + 1e-9)  # the sentence gap
    assert result.sentences[-1].end == pytest.approx(result.duration, abs=0.05)
    # Each sentence's span holds sound; the gaps between them are silence.
    rate = result.sample_rate
    for a, b in zip(result.sentences, result.sentences[1:]):
        gap = result.samples[int(a.end * rate) + 1:int(b.start * rate) - 1]
        assert np.all(gap == 0)


def test_word_timings_follow_the_text(result):
    words = result.words
    assert words is not None
    assert [w.word for w in words] == TEXT.split()
    for a, b in zip(words, words[1:]):
        assert a.start <= a.end <= b.start + 1e-9
    for w in words:
        assert w.end > w.start, w  # every word here is spoken
    # Words sit inside their sentences.
    assert words[0].start >= result.sentences[0].start
    assert words[-1].end <= result.sentences[-1].end + 1e-9
    first_of_second = words[len(result.sentences[0].text.split())]
    assert first_of_second.start >= result.sentences[1].start


def test_voice_is_loaded_once_per_process(backend):
    t0 = time.perf_counter()
    again = PiperBackend()
    assert time.perf_counter() - t0 < 0.5
    assert again.voice is backend.voice
    assert again.voice_key() == backend.voice_key()
    no_words = PiperBackend(alignments=False)
    assert no_words.voice is not backend.voice  # a different cache key: unpatched model
    assert no_words.voice is PiperBackend(alignments=False).voice


def test_voice_key_tracks_settings(backend):
    slower = PiperBackend(length_scale=1.2)
    assert slower.voice is backend.voice  # same loaded model
    assert slower.voice_key() != backend.voice_key()
    assert "en_US-joe-medium" in backend.voice_key()


def test_length_scale_slows_speech(backend):
    text = "A slow and steady voice."
    normal = backend.synthesize(text).duration
    slow = PiperBackend(length_scale=1.6).synthesize(text).duration
    assert slow > normal * 1.25


def test_no_words_without_alignments():
    res = PiperBackend(alignments=False).synthesize("Just one sentence.")
    assert res.words is None and len(res.sentences) == 1


def test_bad_voice_inputs(tmp_path, backend):
    missing = tmp_path / "nobody.onnx"
    with pytest.raises(TTSError, match="nobody.onnx"):
        PiperBackend(model_path=missing)
    with pytest.raises(TTSError, match="nobody.onnx"):
        make_backend("piper", str(missing))
    with pytest.raises(TTSError, match=".onnx"):
        PiperBackend(model_path=tmp_path / "voice.bin")
    bogus = tmp_path / "bogus.onnx"
    bogus.write_bytes(b"not a model")
    (tmp_path / "bogus.onnx.json").write_text("{}")
    with pytest.raises(TTSError):
        PiperBackend(model_path=bogus)
    with pytest.raises(TTSError, match="empty"):
        backend.synthesize("   \n ")


def test_make_backend_picks_by_voice_model():
    assert make_backend("piper").name == "piper"
    assert make_backend("openai_tts", base_url="http://127.0.0.1:9/v1").name == "openai_tts"
    with pytest.raises(TTSError, match="unknown voice model 'elevenlabs'"):
        make_backend("elevenlabs")
    with pytest.raises(TTSError, match="bad settings"):
        make_backend("piper", colour="blue")


def test_split_sentences_knows_abbreviations():
    assert split_sentences("Mr. Smith met Dr.  Jones at 5 p.m. yesterday. Then   they left.") == [
        "Mr. Smith met Dr. Jones at 5 p.m. yesterday.", "Then they left."]
    assert tts.split_sentences("") == []


def test_voice_key_for_spec_matches_without_loading(tmp_path):
    assert tts.voice_key_for("piper") == PiperBackend().voice_key()
    assert tts.voice_key_for("piper", length_scale=1.2, sentence_gap=0.5) == \
        PiperBackend(length_scale=1.2, sentence_gap=0.5).voice_key()
    assert tts.voice_key_for("openai_tts", voice="nova") == make_backend("openai_tts", voice="nova").voice_key()
    with pytest.raises(TTSError, match="gone.onnx"):
        tts.voice_key_for("piper", str(tmp_path / "gone.onnx"))


def test_merged_words_share_only_their_own_span(backend):
    # espeak speaks "out of" as one word: only those two are shared out (and marked guessed).
    res = backend.synthesize("He ran out of the house, and it was one of those days.")
    words = res.words
    assert [w.word for w in words] == "He ran out of the house, and it was one of those days.".split()
    assert [w.word for w in words if w.guessed] == ["out", "of"]
    out, of = words[2], words[3]
    assert out.end == of.start and out.start < out.end < of.end <= words[4].start
    for a, b in zip(words, words[1:]):
        assert a.start < a.end <= b.start + 1e-9
    assert "guessed" in words[0].to_dict()


def test_align_tokens_pairs_groups_by_phonemes():
    # Two tokens in one span; then a token spoken as three words.
    assert tts._align_tokens([["ʌv"], ["ðə"], ["wɜːld"]], ["ʌvðə", "wɜld"], 2) == [
        (0, 2, 0, 1), (2, 3, 1, 2)]
    assert tts._align_tokens([["ɪn"], ["naɪntiːn", "eɪti", "fɔːɹ"], ["ðə"]],
                             ["ɪn", "naɪntiːn", "eɪɾi", "fɔːɹ", "ðə"], 5) == [
        (0, 1, 0, 1), (1, 2, 1, 4), (2, 3, 4, 5)]
    # A merge is placed where the sounds say, not at the end of the sentence.
    rows = tts._align_tokens([["hi"], ["wɛnt"], ["ɪn"], ["tʊ"], ["ðə"], ["sɪɾi"]],
                             ["hi", "wɛnt", "ɪntʊ", "ðə", "sɪɾi"], 5)
    assert rows == [(0, 1, 0, 1), (1, 2, 1, 2), (2, 4, 2, 3), (4, 5, 3, 4), (5, 6, 4, 5)]
    # Without span phonemes (counts only) every token still lands in some group, in order.
    rows = tts._align_tokens([["a"], ["b"], ["c"]], None, 2)
    assert rows[0][0] == 0 and rows[-1][1] == 3 and rows[-1][3] == 2
