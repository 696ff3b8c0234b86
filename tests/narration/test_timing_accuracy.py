"""Word and cue timings against a reference E3 does not compute: pauses found in the audio.

The reference comes from the waveform alone. Piper is silent at sentence edges and at most
commas, semicolons and colons; RMS over 10 ms frames finds those silences, and the first loud
frame after one is where the next word really starts (the last loud frame before it, where the
previous word ends). Sentence windows come from ``SynthResult.sentences``, which are sample
counts of separately synthesized sentences (construction, not alignment). Inside a sentence the
silences are paired with the punctuation marks in order, and a sentence whose silence count
differs from its mark count is left out, so E3's word times never pick their own reference: a
word the alignment puts one place off lands a whole word (0.2-0.5 s) away from its pause.

What this cannot see: words inside a run with no pause (e.g. "of the" spoken as one group) have
no independent onset here; they are covered only by the share of guessed words.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from e3.narration.subtitles import build_cues
from e3.narration.tts import PiperBackend, SynthResult

MOBY = (
    "Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my "
    "purse, and nothing particular to interest me on shore, I thought I would sail about a little and "
    "see the watery part of the world. It is a way I have of driving off the spleen and regulating the "
    "circulation. Whenever I find myself growing grim about the mouth; whenever it is a damp, drizzly "
    "November in my soul; whenever I find myself involuntarily pausing before coffin warehouses, and "
    "bringing up the rear of every funeral I meet; and especially whenever my hypos get such an upper "
    "hand of me, that it requires a strong moral principle to prevent me from deliberately stepping "
    "into the street, and methodically knocking people's hats off—then, I account it high time to get "
    "to sea as soon as I can. This is my substitute for pistol and ball. With a philosophical flourish "
    "Cato throws himself upon his sword; I quietly take to the ship. There is nothing surprising in "
    "this. If they but knew it, almost all men in their degree, some time or other, cherish very "
    "nearly the same feelings towards the ocean with me.",
    "There now is your insular city of the Manhattoes, belted round by wharves as Indian isles by coral "
    "reefs—commerce surrounds it with her surf. Right and left, the streets take you waterward. Its "
    "extreme downtown is the battery, where that noble mole is washed by waves, and cooled by breezes, "
    "which a few hours previous were out of sight of land. Look at the crowds of water-gazers there.",
    "Circumambulate the city of a dreamy Sabbath afternoon. Go from Corlears Hook to Coenties Slip, and "
    "from thence, by Whitehall, northward. What do you see?—Posted like silent sentinels all around the "
    "town, stand thousands upon thousands of mortal men fixed in ocean reveries. Some leaning against "
    "the spiles; some seated upon the pier-heads; some looking over the bulwarks of ships from China; "
    "some high aloft in the rigging, as if striving to get a still better seaward peep. But these are "
    "all landsmen; of week days pent up in lath and plaster—tied to counters, nailed to benches, "
    "clinched to desks. How then is this? Are the green fields gone? What do they here?",
)
# Short words Piper runs together, right before pauses: an off-by-one alignment shows at once.
MERGES = ("He took all of the money, put it in the bag, and ran out of the house, into the rain, "
          "up to the top of the hill, over the side of it, and down to the edge of the sea. "
          "It was one of those days, as it were, when all of us had to be on the way by two, or so.")

_PAUSE_MARK = re.compile(r"[,;:][\"'”’)\]]*$")
MIN_PAUSE = 0.15  # s; stop-consonant closures are shorter (60-100 ms)


def _loud_frames(res: SynthResult) -> np.ndarray:
    hop = res.sample_rate // 100
    x = res.samples[: len(res.samples) // hop * hop].astype(np.float64).reshape(-1, hop)
    rms = np.sqrt((x ** 2).mean(axis=1))
    return rms > rms.max() * 10 ** (-40 / 20)


def reference_points(res: SynthResult) -> list[tuple[int, float, float]]:
    """``(word index, reference start, reference end of the word before)`` at every pause found
    in the audio; the end is None for a sentence's first word. Word indexes are E3's."""
    loud = _loud_frames(res)
    out: list[tuple[int, float, float | None]] = []
    wi = 0
    for sent in res.sentences:
        n_words = 0  # E3's words of this sentence: those starting inside its span
        while wi + n_words < len(res.words) and res.words[wi + n_words].start < sent.end:
            n_words += 1
        words = res.words[wi:wi + n_words]
        f0, f1 = int(sent.start * 100), int(sent.end * 100)
        idx = np.flatnonzero(loud[f0:f1]) + f0
        if not len(idx):
            wi += n_words
            continue
        out.append((wi, idx[0] / 100, None))  # the sentence's first sound
        gaps = [(a, b) for a, b in zip(idx, idx[1:]) if (b - a - 1) / 100 >= MIN_PAUSE]
        marks = [k for k, w in enumerate(words[:-1]) if _PAUSE_MARK.search(w.word)]
        if len(gaps) == len(marks):
            out.extend((wi + k + 1, b / 100, (a + 1) / 100) for k, (a, b) in zip(marks, gaps))
        wi += n_words
    return out


@pytest.fixture(scope="module")
def results() -> list[SynthResult]:
    backend = PiperBackend()
    return [backend.synthesize(p) for p in (*MOBY, MERGES)]


def test_word_starts_match_pauses_in_the_audio(results):
    errors, interior = [], 0
    for res in results:
        for wi, ref_start, _ in reference_points(res):
            errors.append(abs(res.words[wi].start - ref_start))
        interior += sum(1 for _, _, end in reference_points(res) if end is not None)
    errors = np.array(errors)
    assert len(errors) >= 40 and interior >= 25, (len(errors), interior)
    assert np.median(errors) <= 0.10, np.median(errors)
    assert np.percentile(errors, 95) <= 0.25, np.percentile(errors, 95)


def test_few_words_are_guessed_in_real_prose(results):
    words = [w for res in results[: len(MOBY)] for w in res.words]
    assert "".join("".join(w.word.split()) for w in words) == "".join(" ".join(MOBY).split())
    share = sum(w.guessed for w in words) / len(words)
    assert share < 0.15, share  # it was 58% when a merge anywhere spread the whole sentence


def _nonspace(text: str) -> int:
    return len("".join(text.split()))


def test_cue_boundaries_inside_sentences_match_pauses(results):
    checked = 0
    for res in results:
        refs = {wi: (start, end) for wi, start, end in reference_points(res) if end is not None}
        ends_at, acc = {}, 0  # characters (without spaces) up to each word's end -> its index
        for i, w in enumerate(res.words):
            acc += _nonspace(w.word)
            ends_at[acc] = i
        # Narrow cues so that many boundaries fall inside sentences, some at pauses.
        cues = build_cues(res.sentences, max_chars=20, max_lines=1, min_duration=0.0,
                          audio_end=res.duration, words=res.words)
        assert " ".join(c.text for c in cues).split() == " ".join(s.text for s in res.sentences).split()
        acc = 0
        for a, b in zip(cues, cues[1:]):
            acc += _nonspace(a.text)
            last = ends_at.get(acc)
            if last is None or last + 1 not in refs:
                continue
            ref_start, ref_end = refs[last + 1]
            assert abs(b.start - ref_start) <= 0.3, (a.text, b.text, b.start, ref_start)
            assert abs(a.end - ref_end) <= 0.3, (a.text, b.text, a.end, ref_end)
            checked += 1
    assert checked >= 8, checked
