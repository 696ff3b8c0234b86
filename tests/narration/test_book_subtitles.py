"""A book's subtitles from its voiced chunks, without Dagster (e3.narration.book_subtitles):
sentence cues placed at each chunk's start in the m4b (durations plus pauses)."""

from __future__ import annotations

import json

import pytest

from e3.foundry import Foundry, MissingUpstream
from e3.narration.book_subtitles import make_book_subtitles
from e3.narration.subtitles import parse_srt, parse_vtt


def _voiced_book(tmp_path, words: bool):
    paths = Foundry(tmp_path).book("b")
    paths.make_tree()
    entries = []
    for i, (text, duration, pause) in enumerate((("One fish.", 1.0, 0.5), ("Two fish.", 1.2, 0.0))):
        audio = paths.audio_chunks / f"c{i}.flac"
        audio.write_bytes(b"fLaC")  # read_sidecar needs the audio to exist; its content is not read here
        side = {"duration": duration, "sentences": [{"text": text, "start": 0.0, "end": duration}]}
        if words:
            first, second = text.split()
            side["words"] = [{"word": first, "start": 0.0, "end": duration / 2},
                             {"word": second, "start": duration / 2, "end": duration}]
        audio.with_suffix(".json").write_text(json.dumps(side))
        entries.append({"file": audio.name, "duration": duration, "pause_after": pause, "chapter_index": 0})
    paths.audio_manifest.write_text(json.dumps({"chunks": entries}))
    paths.m4b_sidecar("b").write_text(json.dumps({"duration": 2.7}))
    paths.parse_metadata.write_text(json.dumps({"language": "en"}))
    return paths


def test_cues_follow_the_chunk_starts_and_word_vtt_is_written(tmp_path):
    paths = _voiced_book(tmp_path, words=True)
    made = make_book_subtitles(paths, "b")
    cues = parse_srt(paths.srt("b").read_text())
    assert [c.text for c in cues] == ["One fish.", "Two fish."]
    assert cues[1].start == pytest.approx(1.5, abs=0.01)  # 1.0 s of speech + 0.5 s pause
    assert cues[-1].end <= 2.7 and made.audio_end == 2.7
    assert len(parse_vtt(paths.vtt("b").read_text())) == 2
    assert paths.words_vtt("b").is_file() and made.guessed_word_times == 0


def test_without_word_times_or_recognizer_only_sentences_and_missing_files_are_named(tmp_path):
    paths = _voiced_book(tmp_path, words=False)
    made = make_book_subtitles(paths, "b")  # no recognizer: the voice's sentence times
    assert made.words is None and not paths.words_vtt("b").exists() and len(made.cues) == 2
    paths.m4b_sidecar("b").unlink()
    with pytest.raises(MissingUpstream, match="m4b sidecar not found"):
        make_book_subtitles(paths, "b")
