"""Subtitle timing and formats; one test runs on real Piper timings."""

from __future__ import annotations

import re

import pytest

from e3.narration.subtitles import (Cue, SubtitleError, build_cues, parse_srt, parse_vtt,
                                    timeline_from_chunks, to_srt, to_vtt, word_cues, words_from_chunks,
                                    wrap_lines)
from e3.narration.tts import SentenceTiming, WordTiming

LONG = ("It was the best of days and the worst of days for the little village by the sea, where "
        "the fishermen mended their nets each morning and argued each evening about the weather, "
        "the price of herring and the foolishness of the young.")


def assert_valid(cues: list[Cue], audio_end: float | None = None, max_chars=42, max_lines=2):
    assert cues
    for c in cues:
        assert 1 <= len(c.lines) <= max_lines, c
        assert all(0 < len(line) <= max_chars for line in c.lines), c
        assert c.end > c.start >= 0
        assert round(c.start * 1000) == pytest.approx(c.start * 1000, abs=1e-6)
        if audio_end is not None:
            assert c.end <= audio_end
    for a, b in zip(cues, cues[1:]):
        assert a.end <= b.start and a.start < b.start


def test_long_sentence_is_split_proportionally():
    sents = [SentenceTiming("Short one.", 0.0, 1.2), SentenceTiming(LONG, 1.5, 16.5),
             SentenceTiming("The end.", 16.8, 17.6)]
    cues = build_cues(sents, audio_end=17.6)
    assert_valid(cues, 17.6)
    assert cues[0].text == "Short one." and cues[-1].text == "The end."
    middle = cues[1:-1]
    assert len(middle) >= 3
    assert " ".join(c.text for c in middle) == LONG  # no word lost or reordered
    assert middle[0].start == 1.5 and middle[-1].end == 16.5
    for a, b in zip(middle, middle[1:]):
        assert a.end == b.start  # consecutive, the sentence's time shared out
    rate = [(c.end - c.start) / (len(c.text) + 1) for c in middle]
    assert max(rate) - min(rate) < 0.01  # seconds per character are the same for every piece
    lens = [len(c.text) for c in middle]
    assert min(lens) > 0.5 * max(lens)  # balanced, no lonely last word


def test_min_duration_never_overlaps_or_passes_the_end():
    sents = [SentenceTiming("Oh.", 0.0, 0.2), SentenceTiming("Ah.", 0.5, 0.7), SentenceTiming("Hm.", 3.0, 3.1)]
    cues = build_cues(sents, min_duration=0.8, audio_end=3.4)
    assert_valid(cues, 3.4)
    assert cues[0].end == 0.5  # stretched up to the next cue only
    assert cues[1].end == pytest.approx(1.3)  # stretched to the full minimum in the silence
    assert cues[2].end == 3.4  # stretched, but clipped at the audio's end


def test_overlaps_and_overruns_are_clamped():
    sents = [SentenceTiming("One two three.", 0.0, 2.0), SentenceTiming("Four five.", 1.5, 3.0),
             SentenceTiming("Past the end.", 4.0, 6.0), SentenceTiming("Gone.", 7.0, 8.0)]
    cues = build_cues(sents, audio_end=5.0)
    assert_valid(cues, 5.0)
    assert [c.text for c in cues] == ["One two three.", "Four five.", "Past the end."]
    assert cues[1].start == 2.0 and cues[-1].end == 5.0


def test_wrap_lines_balances_and_limits():
    lines = wrap_lines("The quick brown fox jumps over the lazy dog and runs far away")
    assert len(lines) == 2 and all(len(x) <= 42 for x in lines)
    assert abs(len(lines[0]) - len(lines[1])) < 10
    assert wrap_lines(LONG) is None
    assert wrap_lines("x" * 50) == ["x" * 42, "x" * 8]
    with pytest.raises(SubtitleError):
        build_cues([], max_chars=3)


def test_srt_and_vtt_round_trip():
    cues = build_cues([SentenceTiming("Fish & chips <cheap> --> here.", 0.25, 2.0),
                       SentenceTiming(LONG, 2.3, 15.0)], audio_end=15.0)
    srt = to_srt(cues)
    assert srt.startswith("1\n00:00:00,250 --> 00:00:02,000\n")
    back = parse_srt(srt)
    assert [(c.start, c.end) for c in back] == [(c.start, c.end) for c in cues]
    assert [c.lines for c in back][1:] == [c.lines for c in cues][1:]
    vtt = to_vtt(cues)
    assert vtt.startswith("WEBVTT\n\n00:00:00.250 --> 00:00:02.000\nFish &amp; chips &lt;cheap&gt;")
    vback = parse_vtt(vtt)
    assert vback == cues
    with pytest.raises(SubtitleError):
        parse_vtt("1\n00:00:00,000 --> 00:00:01,000\nx\n")
    with pytest.raises(SubtitleError):
        parse_srt("1\nno timing\nx\n")
    # Foreign files with ids, settings and NOTE blocks parse too.
    extra = parse_vtt("\ufeffWEBVTT - book\r\n\r\nNOTE hi\r\n\r\nc1\r\n01:02:03.004 --> 01:02:04.000 align:start\r\n<i>Hi</i>\r\n")
    assert extra == [Cue(3723.004, 3724.0, ["Hi"])]


def test_word_cues_make_valid_karaoke_vtt():
    words = [WordTiming(w, i * 0.35, i * 0.35 + 0.3) for i, w in enumerate(
        "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse".split())]
    words.append(WordTiming("again.", 12.0, 12.4))  # after a long pause: its own cue
    cues = word_cues(words, audio_end=12.5)
    assert_valid(cues, 12.5, max_lines=1)
    assert cues[0].text == "Call me Ishmael."
    assert cues[-1].text == "again." and cues[-1].start == 12.0
    assert sum(len(c.words) for c in cues) == len(words)
    vtt = to_vtt(cues)
    for block in vtt.split("\n\n")[1:]:
        head, body = block.split("\n", 1)
        start, end = head.split(" --> ")
        stamps = re.findall(r"<(\d\d:\d\d:\d\d\.\d\d\d)>", body)
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        assert all(start < s < end for s in stamps)
    back = parse_vtt(vtt)
    assert [c.text for c in back] == [c.text for c in cues]
    flat = [w for c in back for w in c.words]
    assert [w.word for w in flat] == [w.word for w in words]
    assert [w.start for w in flat] == pytest.approx([w.start for w in words], abs=1e-3)


def test_timeline_from_chunk_sidecars():
    a = {"duration": 2.0, "sentences": [{"text": "A one.", "start": 0.0, "end": 0.9},
                                         {"text": "A two.", "start": 1.2, "end": 2.0}],
         "words": [{"word": "A", "start": 0.0, "end": 0.2}]}
    b = {"duration": 1.0, "sentences": [{"text": "B.", "start": 0.0, "end": 1.0}], "words": None}
    timeline = timeline_from_chunks([a, b], [0.0, 2.75])
    assert timeline[-1] == SentenceTiming("B.", 2.75, 3.75)
    assert timeline[1].start == 1.2
    assert words_from_chunks([a, b], [0.0, 2.75]) is None
    assert words_from_chunks([a], [5.0]) == [WordTiming("A", 5.0, 5.2)]
    with pytest.raises(SubtitleError):
        timeline_from_chunks([a, b], [0.0])


def test_real_piper_timings_make_valid_subtitles():
    from e3.narration.tts import PiperBackend

    res = PiperBackend().synthesize("Call me Ishmael. Some years ago, never mind how long precisely, "
                                    "having little or no money in my purse, and nothing particular to "
                                    "interest me on shore, I thought I would sail about a little.")
    chunk = {"sentences": [s.to_dict() for s in res.sentences], "words": [w.to_dict() for w in res.words]}
    offsets = [0.0, res.duration + 1.0]
    end = 2 * res.duration + 1.0
    cues = build_cues(timeline_from_chunks([chunk, chunk], offsets), audio_end=end)
    assert_valid(cues, end)
    assert cues[-1].end <= end
    timed = build_cues(timeline_from_chunks([chunk, chunk], offsets), max_chars=20, audio_end=end,
                       words=words_from_chunks([chunk, chunk], offsets))
    assert_valid(timed, end, max_chars=20)
    assert [c.text for c in timed] == [c.text for c in build_cues(
        timeline_from_chunks([chunk, chunk], offsets), max_chars=20, audio_end=end)]
    wcues = word_cues(words_from_chunks([chunk, chunk], offsets), audio_end=end)
    assert_valid(wcues, end, max_lines=1)
    assert parse_vtt(to_vtt(wcues))[-1].end <= end


def _uneven_words(text: str, start: float) -> list[WordTiming]:
    # Fast words, then slow ones: a share by characters would put cue edges far off.
    out, t = [], start
    for i, w in enumerate(text.split()):
        d = 0.1 if i < 15 else 0.4
        out.append(WordTiming(w, t, t + d))
        t += d + 0.05
    return out


def test_long_sentence_cues_follow_word_times():
    sents = [SentenceTiming("Short one.", 0.0, 1.2), SentenceTiming(LONG, 1.5, 16.5)]
    words = [WordTiming("Short", 0.1, 0.5), WordTiming("one.", 0.55, 1.1)] + _uneven_words(LONG, 1.6)
    cues = build_cues(sents, audio_end=16.5, min_duration=0.0, words=words)
    assert_valid(cues, 16.5)
    middle = cues[1:]
    assert " ".join(c.text for c in middle) == LONG
    assert middle[0].start == 1.5 and middle[-1].end == 16.5  # the sentence's own edges
    i = 0
    long_words = words[2:]
    for k, c in enumerate(middle):
        ws = long_words[i:i + len(c.text.split())]
        i += len(ws)
        if k:
            assert c.start == pytest.approx(ws[0].start, abs=1e-3)  # first word's start
        if k < len(middle) - 1:
            assert c.end == pytest.approx(ws[-1].end, abs=1e-3)  # last word's end
    by_chars = build_cues(sents, audio_end=16.5, min_duration=0.0)
    assert max(abs(a.start - b.start) for a, b in zip(cues, by_chars)) > 1.0  # really different


def test_cues_fall_back_to_characters_without_matching_words():
    sents = [SentenceTiming(LONG, 1.5, 16.5)]
    by_chars = build_cues(sents, audio_end=16.5)
    other = _uneven_words(LONG.replace("herring", "cod"), 1.6)  # words of another text
    assert build_cues(sents, audio_end=16.5, words=other) == by_chars
    assert build_cues(sents, audio_end=16.5, words=[]) == by_chars


def test_word_timeline_keeps_the_guessed_flag():
    chunk = {"sentences": [], "words": [{"word": "of", "start": 0.1, "end": 0.2, "guessed": True},
                                        {"word": "it", "start": 0.2, "end": 0.3}]}
    assert [w.guessed for w in words_from_chunks([chunk], [1.0])] == [True, False]
