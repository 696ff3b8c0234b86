"""narration_check and `e3 check`: a correct Piper book passes, swapped chunk audio is flagged;
voices without timings get word times from the recognizer."""

from __future__ import annotations

import json
import statistics

import dagster as dg
import pytest
from click.testing import CliRunner

from e3.demo_book import write_epub
from e3.foundry import Foundry
from tests.pipeline.helpers import materialize, register

pytestmark = pytest.mark.slow

TINY = [
    ("Chapter One", ["The lamp was lit at six. Mara climbed the wall with her oil can.",
                     "Nine lamps stood along the quay, and Dr. Hale counted them twice."]),
    ("Chapter Two", ["The fog came in from the north in 1887.", "Everyone in town brought a lantern."]),
]
ASSETS = ["book_source", "parsed_chapters", "narration_chunks", "audio_chunks", "audiobook_m4b"]


@pytest.fixture
def tiny_book(e3_env, asr_model_dir, monkeypatch):
    monkeypatch.setenv("E3_ASR_MODEL", str(asr_model_dir))
    src = write_epub(e3_env / "src" / "tiny.epub", "Tiny Lamps", "E3 Tests", TINY, year="2026")
    register("tiny", str(src), title="Tiny Lamps")
    from e3_assets.narration.listen_checks import narration_check

    with dg.instance_for_test() as instance:
        result = materialize(instance, "tiny", [*ASSETS, narration_check])
    assert result.success
    return Foundry(e3_env / "foundry").book("tiny"), result


def test_correct_book_passes_and_swapped_chunks_are_flagged(tiny_book, recognizer):
    from e3.narration.listen import check_book

    paths, result = tiny_book
    (ev,) = result.get_asset_check_evaluations()
    meta = {k: v.value for k, v in ev.metadata.items()}
    assert ev.passed, meta
    assert meta["checked_chunks"] >= 3 and meta["wer_max"] <= 0.25

    full = check_book(recognizer, paths, full=True)
    assert full["passed"] and full["checked"] == full["chunks"], full["worst"]

    # Swap the audio of two body chunks: each is now heard saying the other's text.
    manifest = json.loads((paths.audiobook / "audio_manifest.json").read_text())
    plan = json.loads(paths.chunk_plan.read_text())
    body = [i for i, c in enumerate(plan["chunks"]) if c["paragraph_index"] >= 0]
    a, b = body[0], body[-1]
    fa, fb = (paths.audio_chunks / manifest["chunks"][i]["file"] for i in (a, b))
    da, db = fa.read_bytes(), fb.read_bytes()
    fa.write_bytes(db)
    fb.write_bytes(da)
    report = check_book(recognizer, paths, full=True)
    assert not report["passed"]
    assert {r["index"] for r in report["flagged"]} == {a, b}
    flagged = {r["index"]: r for r in report["flagged"]}
    assert flagged[a]["text"] == plan["chunks"][a]["text"]
    assert "lantern" in flagged[a]["heard"].lower() and "lamp" in flagged[b]["heard"].lower()
    starts = [0.0]
    for e in manifest["chunks"][:-1]:
        starts.append(starts[-1] + e["duration"] + e["pause_after"])
    assert flagged[b]["at_seconds"] == pytest.approx(starts[b], abs=0.01)

    from e3.cli import main

    out = CliRunner().invoke(main, ["check", "tiny", "--full"])
    assert out.exit_code == 1, out.output
    assert f"chunk {a} at " in out.output and "heard:" in out.output
    js = CliRunner().invoke(main, ["check", "tiny", "--full", "--json"])
    assert len(json.loads(js.stdout[js.stdout.index("{"):])["flagged"]) == 2


def test_voice_without_timings_gets_word_times_by_ear(tiny_book, recognizer):
    """Drop Piper's word times (as an OpenAI-compatible voice gives none) and time the words by
    ear: starts agree with Piper's measured starts, and the subtitle builder takes them."""
    from e3.narration.listen import time_by_ear
    from e3.narration.subtitles import build_cues, timeline_from_chunks, word_cues, words_from_chunks
    from e3.narration.synth import read_sidecar

    paths, _ = tiny_book
    manifest = json.loads((paths.audiobook / "audio_manifest.json").read_text())
    sidecars = [read_sidecar(paths.audio_chunks / e["file"]) for e in manifest["chunks"]]
    bare = [dict(s, words=None) for s in sidecars]
    timed = time_by_ear(recognizer, paths.audio_chunks, bare, paths.audiobook / "heard")
    assert all(t["words"] and t["words_from"] == "asr" for t in timed)
    diffs = []
    for piper, asr in zip(sidecars, timed):
        display = " ".join(s["text"] for s in piper["sentences"]).split()
        assert [w["word"] for w in asr["words"]] == display
        if len(piper["words"]) == len(asr["words"]):
            diffs += [abs(p["start"] - q["start"])
                      for p, q in zip(piper["words"], asr["words"]) if not p.get("guessed")]
        for w in asr["words"]:
            assert 0 <= w["start"] <= w["end"] <= asr["duration"] + 1e-6
    print(f"\nword starts by ear vs Piper's: median {statistics.median(diffs):.3f} s over {len(diffs)} words")
    assert len(diffs) >= 20 and statistics.median(diffs) < 0.15, statistics.median(diffs)
    offsets = [0.0]
    for e in manifest["chunks"][:-1]:
        offsets.append(offsets[-1] + e["duration"] + e["pause_after"])
    words = words_from_chunks(timed, offsets)
    cues = build_cues(timeline_from_chunks(timed, offsets), words=words)
    assert cues and word_cues(words)
    # Cached: a second pass does not listen again.
    assert len(list((paths.audiobook / "heard").glob("*.json"))) == len(timed)

    # The subtitles asset does the same when the sidecars on disk have no word times.
    for e in manifest["chunks"]:
        side = (paths.audio_chunks / e["file"]).with_suffix(".json")
        side.write_text(json.dumps(dict(json.loads(side.read_text()), words=None)))
    with dg.instance_for_test() as instance:
        result = materialize(instance, "tiny", ["subtitles"])
    meta = {k: v.value for k, v in result.asset_materializations_for_node("subtitles")[-1].metadata.items()}
    assert meta["word_level"] is True
    assert (paths.subtitles / "tiny.words.vtt").read_text(encoding="utf-8").count("<c>") >= 20
