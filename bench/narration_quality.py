"""Benchmark: narration quality by ear. Piper reads a fixed passage full of hard cases (numbers,
dates, roman numerals, abbreviations, names) the way E3 prepares it (``e3.books.speech.speak``);
the speech recognizer (the ``asr`` extra) listens; prints the word error rate of what was heard
against the source text, per sentence and overall, plus the time taken.

Both sides pass through ``e3.narration.listen.normalize_words``, so "1887" heard for "eighteen
eighty-seven" is no error; a text-preparation change that makes the voice say something else
("Henry V-I-I-I") raises the number. The recognizer's own floor is a few percent; names it does
not know count as errors too.

    python bench/narration_quality.py [--threads 2] [--show 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# bench/ holds other scripts (e.g. queue.py) that would shadow the stdlib: import from the root.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

from e3.books.chunking import split_sentences  # noqa: E402
from e3.books.speech import speak  # noqa: E402
from e3.narration.listen import Recognizer, normalize_words, wer  # noqa: E402
from e3.narration.synth import synthesize_to_file  # noqa: E402
from e3.narration.tts import make_backend  # noqa: E402

PASSAGE = """\
On March 4, 1861, Mr. Lincoln took the oath before a crowd of 30,000 people.
Dr. Watson paid £5 10s. for the lodgings at 221B Baker Street in 1881.
Henry VIII had six wives; Elizabeth II reigned for 70 years.
World War II ended in 1945, and the 1960s brought new music.
The ship sailed at 6:30 p.m. on the 3rd of July and reached St. Petersburg on the 21st.
Chapter XIV begins on page 212, where Capt. Nemo measures a depth of 8,500 metres.
Prof. Moriarty earned $1,250.75 a year, about 3.5 percent of his brother's income.
Mrs. Dalloway bought the flowers herself at 10 o'clock on a Wednesday in June, 1923.
Louis XIV, Pope Pius IX and Charles V met no one named Siobhan, Nguyen or Aoife.
The 19th century saw 12 editions, the last in 1899, each with 1,024 pages.
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="recognizer CPU threads")
    ap.add_argument("--show", type=int, default=5, help="list this many worst sentences")
    args = ap.parse_args()

    sentences = [s for line in PASSAGE.splitlines() for s in split_sentences(line) if s.strip()]
    backend = make_backend("piper")
    rec = Recognizer(threads=args.threads)
    t0 = time.monotonic()
    rec.model  # noqa: B018 - load (and hash-check) before timing
    load = time.monotonic() - t0
    rows, synth_s, asr_s, audio_s = [], 0.0, 0.0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i, display in enumerate(sentences):
            spoken = speak(display)
            wav = Path(tmp) / f"{i}.wav"
            t = time.monotonic()
            meta = synthesize_to_file(backend, spoken, wav)
            synth_s += time.monotonic() - t
            audio_s += meta["duration"]
            t = time.monotonic()
            heard = rec.transcribe_file(wav).text
            asr_s += time.monotonic() - t
            ref, hyp = normalize_words(display), normalize_words(heard)
            errors = round(wer(ref, hyp) * len(ref))
            rows.append((errors / max(1, len(ref)), errors, len(ref), display, spoken, heard))
    errors = sum(r[1] for r in rows)
    words = sum(r[2] for r in rows)
    print(f"narration quality: {len(rows)} sentences, {words} words, {audio_s:.1f} s of speech")
    print(f"  WER heard vs source: {errors / words:.1%} ({errors} errors)")
    print(f"  sentences with any error: {sum(1 for r in rows if r[1])} of {len(rows)}")
    print(f"  recognizer: load {load:.1f} s, {asr_s:.1f} s for {audio_s:.0f} s of audio "
          f"({asr_s / audio_s * 60:.1f} s per audio minute); Piper {synth_s:.1f} s")
    for w, _, _, display, spoken, heard in sorted(rows, key=lambda r: -r[0])[:args.show]:
        print(f"\n  WER {w:.0%}\n    source: {display}\n    spoken: {spoken}\n    heard:  {heard}")


if __name__ == "__main__":
    main()
