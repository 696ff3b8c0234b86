"""TTS overhead benchmark: plain Piper calls vs. the ``audio_chunks`` Dagster asset.

    python bench/tts.py                   # the audio_chunks asset vs. the plain loop
    python bench/tts.py --compare         # also 1 process x default threads, and in-process
    python bench/tts.py --rounds 3        # more alternating rounds on a noisy machine

Both sides synthesize the same ~5,000-character text (written for this benchmark) in the same
chunks: the book is added to a throwaway E3 (SQLite catalog, temp foundry), parsed and chunked
(untimed), then ``audio_chunks`` is materialized through Dagster in-process and timed; the
baseline synthesizes the texts of that chunk plan. Both include loading the voice. The baseline is
``PiperVoice.load`` + ``PiperVoice.synthesize`` in a loop, audio kept in memory. Ours adds
sentence splitting, word alignments, FLAC encoding, sidecars and worker processes. Target:
ours <= 1.10 x baseline. Ratios only mean something within one run on one machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

# Put the repo root where the script's folder was: other bench scripts (bench/queue.py) would
# otherwise shadow standard-library modules in this process and in spawned workers.
_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _HERE) and Path(p).resolve() != Path(_HERE)]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from e3.narration.synth import default_workers, synthesize_chunks  # noqa: E402
from e3.narration.tts import default_piper_model  # noqa: E402

TEXT = """\
The lighthouse keeper had a habit of counting the ships before breakfast. He did it from the gallery
at the top of the tower, with a mug of tea in one hand and a notebook in the other, and he wrote the
number down even on the mornings when it was zero. His daughter thought this was a waste of ink. He
said that a zero was still a fact, and that facts were the only things a keeper could be sure of.

In the spring the ships came back. First a pair of fishing boats with red sails, then a grain barge
that rode so low in the water it looked like a floating field, and then, one grey Tuesday, a tall
steamer nobody on the island had ever seen before. It anchored off the point and stayed there for
three days without sending a boat ashore. The keeper counted it every morning. On the fourth morning
it was gone, and he wrote a one where there had been a one, and then he crossed it out.

The island had two roads, a chapel, a shop that sold everything badly, and a school with eleven
children in it. The teacher, a patient woman from the mainland, taught them arithmetic by the tides.
High water at six, she would say, and low water six hours and a little later; so when is high water
tomorrow? The children learned to add minutes the way other children learn to add apples. Some of
them grew up to be sailors, and they said afterwards that they never once needed a tide table.

Winter was the hard season. The wind came from the north for weeks at a time and the spray froze on
the railings of the gallery, so that the keeper had to chip his way out to clean the great lens. He
polished it every evening at dusk, working from the top prism to the bottom one, and he talked to it
while he worked. He told it the weather, the news from the shop, and the names of the ships he had
counted. His daughter said the lens could not hear him. He said that was no reason to be rude to it.

One night in January the lamp failed. The mantle cracked, the light guttered, and for nine minutes
the tower was dark for the first time in forty years. The keeper replaced the mantle with his hands
shaking so badly that he dropped the first spare, and the second, and only the third one held. When
the beam swept out over the water again he stood at the window and counted, out loud, to a hundred.
Then he went down and wrote in the log: lamp out, nine minutes, no ships seen, none lost.

In the morning a fishing boat came in with ice on its rigging and three tired men aboard. They had
been off the point in the night, they said, and had lost the light, and had dropped anchor and
waited in the dark because there was nothing else to do. They had counted the minutes too. They
made it eleven. The keeper did not argue with them. He gave them tea and let them sleep in the
storeroom, and he never told anyone that his hands had shaken.

When his daughter took over the tower, many years later, she found the notebooks on a shelf in the
oil room: forty-one of them, one for each year, every morning a number. Most of the numbers were
small. A few were large, from the summers when the herring ran and the whole fleet came north. She
read them the way other people read letters. On the last page of the last book he had written a
zero, and underneath it, in smaller letters, a note: still a fact.

She kept the habit. She counts the ships before breakfast, from the gallery at the top of the
tower, with a mug of coffee instead of tea. The lens is electric now and nobody needs to polish it,
but she polishes it anyway, every evening at dusk, from the top prism to the bottom one. She does
not talk to it. Not often, anyway. Only when the wind is from the north and the spray is freezing
on the rail, and the island is very quiet, and there is nobody else awake to hear.

The shop still sells everything badly. The school has seven children now, and a new teacher who
teaches arithmetic from a screen, though the children still ask her about the tides. The chapel
roof was mended last summer by a crew from the mainland who arrived with a crane on a barge and
left with most of the island's biscuits. The two roads are the same two roads. Nobody has built a
third, because there is nowhere for it to go.

Sometimes, in the long evenings, she climbs to the gallery without a reason and watches the beam
go round. It passes over the water, over the point where the steamer anchored, over the rocks
where the fishing boat waited out the dark, and back over the island, the chapel, the school and
the shop, and then out again. She thinks about her father's nine minutes and the fishermen's
eleven. She has decided that both numbers were true. Facts, she says, depend on where you stand.

In the morning she will count again. The ferry, perhaps, if the swell allows it; a yacht or two
blown off course; the grain barge that still rides low in the water, though it carries gravel now.
She will write the number down, whatever it is, and close the book, and go down the stairs.
"""


def baseline(chunks: list[str]) -> float:
    from piper import PiperVoice

    t0 = time.perf_counter()
    voice = PiperVoice.load(default_piper_model())
    samples = 0
    for chunk in chunks:
        for audio in voice.synthesize(chunk):
            samples += len(audio.audio_int16_array)
    wall = time.perf_counter() - t0
    print(f"  baseline audio: {samples / 22050:.1f} s")
    return wall


def ours(chunks: list[str], workers: int | None, threads: int | None = None) -> float:
    with tempfile.TemporaryDirectory(prefix="e3-bench-tts-") as tmp:
        jobs = [(c, Path(tmp) / f"{i:03d}.flac") for i, c in enumerate(chunks)]
        t0 = time.perf_counter()
        metas = synthesize_chunks(jobs, {"voice_model": "piper"}, workers=workers, threads=threads)
        wall = time.perf_counter() - t0
    print(f"  ours audio:     {sum(m['duration'] for m in metas):.1f} s (incl. sentence gaps)")
    return wall


class AssetBench:
    """A throwaway E3 holding the benchmark text as a book, chunked and ready for audio_chunks."""

    def __init__(self, text: str):
        import os

        self.tmp = tempfile.TemporaryDirectory(prefix="e3-bench-tts-asset-")
        root = Path(self.tmp.name)
        os.environ.update({
            "E3_DATABASE_URL": f"sqlite:///{root / 'catalog.db'}", "E3_FOUNDRY": str(root / "foundry"),
            "DAGSTER_HOME": str(root / "dagster_home"), "E3_DOTENV": str(root / "none.env"),
        })
        (root / "dagster_home").mkdir()
        from e3.catalog.service import init_catalog, register_title
        from e3.config import load_settings
        from e3.demo_book import write_epub

        paragraphs = [" ".join(p.split()) for p in TEXT.split("\n\n") if p.strip()]
        half = len(paragraphs) // 2
        src = write_epub(root / "bench.epub", "The Keeper", "E3 Bench",
                         [("Part One", paragraphs[:half]), ("Part Two", paragraphs[half:])])
        register_title(init_catalog(load_settings().database_url), "bench", source_url=str(src))
        self.run = 0
        self._materialize(["book_source", "parsed_chapters", "narration_chunks"])
        plan = json.loads((root / "foundry" / "bench" / "audiobook" / "chunks.json").read_text())
        self.chunks = [c["text"] for c in plan["chunks"]]
        self.audio_dir = root / "foundry" / "bench" / "audiobook" / "audio_chunks"

    def _materialize(self, names: list[str]) -> None:
        import dagster as dg

        from e3_assets import definitions

        by_name = {a.key.to_user_string(): a for a in definitions.all_assets}
        with dg.instance_for_test() as instance:
            instance.add_dynamic_partitions("books", ["bench"])
            result = dg.materialize([by_name[n] for n in names], partition_key="bench", instance=instance,
                                    resources=definitions.defs.resources)
            assert result.success

    def time_audio_chunks(self) -> float:
        import shutil

        shutil.rmtree(self.audio_dir, ignore_errors=True)  # every round synthesizes everything
        t0 = time.perf_counter()
        self._materialize(["audio_chunks"])
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compare", action="store_true", help="also time other worker layouts")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best of each side counts")
    args = ap.parse_args()

    text = " ".join(TEXT.split())
    bench = AssetBench(TEXT)
    chunks = bench.chunks
    procs, threads = default_workers({"voice_model": "piper"}, len(chunks))
    print(f"text: {len(text)} chars in {len(chunks)} chunks; default layout: {procs} process(es) x "
          f"{threads or 'default'} onnxruntime thread(s)")

    # Alternate baseline and ours and keep each side's best: other work on a shared machine
    # otherwise decides the ratio more than the code does.
    bases, mines = [], []
    for r in range(args.rounds):
        bases.append(baseline(chunks))
        print(f"round {r + 1}: baseline (PiperVoice.synthesize loop): {bases[-1]:6.1f} s")
        mines.append(bench.time_audio_chunks())
        print(f"round {r + 1}: audio_chunks asset (Dagster, in-process): {mines[-1]:6.1f} s")
    base, mine = min(bases), min(mines)
    print(f"best baseline: {base:.1f} s ({len(text) / base:.0f} chars/s); best ours: {mine:.1f} s "
          f"({len(text) / mine:.0f} chars/s)")
    print(f"overhead ratio ours/baseline: {mine / base:.2f}  (target <= 1.10)")
    if args.compare:
        for label, workers, thr in [("default layout", None, None), ("1 process x default threads", 1, None),
                                    ("in-process (workers=0)", 0, None),
                                    ("2 processes x 1 thread", 2, 1)]:
            t = ours(chunks, workers, thr)
            print(f"synthesize_chunks ({label}): {t:6.1f} s  ratio {t / base:.2f}")

if __name__ == "__main__":
    main()
