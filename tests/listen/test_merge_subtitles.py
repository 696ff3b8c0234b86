"""`e3 merge --subtitles` on the corpus's LJ Speech folder: subtitles and a transcript beside the m4b."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from e3.narration.listen import normalize_words, wer
from e3.narration.subtitles import parse_srt, parse_vtt
from tests.conftest import CORPUS, corpus_file
from tests.listen.conftest import lj_transcripts

pytestmark = pytest.mark.slow


def test_merge_of_lj_speech_gets_subtitles_and_transcript(e3_env, asr_model_dir, monkeypatch):
    from e3.cli import main
    from e3.media.chapters import read_chapters
    from e3.media.ffmpeg import probe_duration

    folder = corpus_file("audio/ljspeech_mp3_folder")
    monkeypatch.setenv("E3_MERGE_ROOTS", os.pathsep.join([str(e3_env), str(CORPUS)]))
    monkeypatch.setenv("E3_ASR_MODEL", str(asr_model_dir))
    out = e3_env / "out" / "lj.m4b"
    res = CliRunner().invoke(main, ["merge", str(folder), "-o", str(out), "--no-progress", "--subtitles"])
    assert res.exit_code == 0, res.output
    for ext in (".srt", ".vtt", ".words.vtt", ".txt"):
        assert str(out.with_suffix(ext)) in res.stdout
    duration = probe_duration(out)
    cues = parse_srt(out.with_suffix(".srt").read_text(encoding="utf-8"))
    assert len(cues) >= 20
    assert all(c.start < c.end for c in cues) and all(a.end <= b.start for a, b in zip(cues, cues[1:]))
    assert cues[0].start >= 0 and cues[-1].end <= duration
    assert all(len(line) <= 42 for c in cues for line in c.lines) and all(len(c.lines) <= 2 for c in cues)
    assert parse_vtt(out.with_suffix(".vtt").read_text(encoding="utf-8"))
    words = [w for c in parse_vtt(out.with_suffix(".words.vtt").read_text(encoding="utf-8")) for w in c.words or []]
    assert words and all(0 <= w.start <= duration for w in words)

    # Chapter by chapter: each chapter's title, then what was heard in it.
    transcript = out.with_suffix(".txt").read_text(encoding="utf-8")
    titles = [m.title for m in read_chapters(out)]
    assert titles and all(t in transcript for t in titles)
    sections = transcript.split("\n\n")
    chapter_text = {sections[i]: sections[i + 1] for i in range(0, len(sections) - 1, 2)}
    texts = lj_transcripts(folder)  # the corpus has transcripts of the first clips
    assert len(texts) >= 5
    ref, heard = [], []
    for name, text in sorted(texts.items()):
        ref += normalize_words(text)
        heard += normalize_words(chapter_text[name.removesuffix(".mp3")])
    assert wer(ref, heard) < 0.10, wer(ref, heard)
