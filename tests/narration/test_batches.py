"""One book's chunks split into batches without Dagster: whole chapters per batch, each chunk
file in exactly one batch, and batch-voicing writes the same manifest as voicing in one go."""

import json

import pytest

from e3.errors import E3Error
from e3.fsutil import sha256_text
from e3.narration.tts import voice_key_for
from e3.narration.voicing import plan_batches, plan_jobs, voice_batch, voice_book, write_manifest

SPEC = {"voice_model": "piper"}


def _plan(chapters: list[list[str]]) -> dict:
    chunks = []
    for c, texts in enumerate(chapters):
        for t in texts:
            chunks.append({"index": len(chunks), "chapter_index": c, "paragraph_index": len(chunks), "text": t,
                           "sentences": [t], "spoken": t, "spoken_sentences": [t], "pause_after": "paragraph",
                           "text_hash": sha256_text(t)})
        chunks[-1]["pause_after"] = "chapter"
    return {"chapters": [{"index": c, "title": f"C{c}", "kind": "chapter"} for c in range(len(chapters))],
            "chunks": chunks}


def test_batches_keep_chapters_whole_and_never_share_a_file(tmp_path):
    plan = _plan([["A first line here."] * 1 + [f"Chapter one, line {i}." for i in range(4)],
                  [f"Chapter two, line {i}." for i in range(4)],
                  ["A first line here.", "Chapter three alone."],  # repeats chapter one's first chunk
                  [f"Chapter four, line {i}." for i in range(5)]])
    key = voice_key_for(**SPEC)
    batches = plan_batches(plan, tmp_path, key, 3)
    assert 1 < len(batches) <= 3
    flat = [i for b in batches for i in b]
    assert flat == sorted(flat) and len(flat) == len(set(flat))
    jobs, _ = plan_jobs(plan, tmp_path, key)
    files = [jobs[i][1] for i in flat]
    assert len(files) == len(set(files)) == len({j[1] for j in jobs})  # every file once, none twice
    chapter = [c["chapter_index"] for c in plan["chunks"]]
    for batch in batches[1:]:  # each batch starts a chapter: no chapter is cut at this size
        assert chapter[batch[0]] != chapter[batch[0] - 1] or batch[0] - 1 not in flat
    assert plan_batches(plan, tmp_path, key, 3) == batches  # the plan alone decides
    assert plan_batches(plan, tmp_path, key, 1) == [flat]
    one_long = _plan([[f"Line {i} of the only chapter, long enough." for i in range(12)]])
    cut = plan_batches(one_long, tmp_path, key, 4)
    assert len(cut) > 1 and sum(map(len, cut)) == 12  # a chapter past twice the share is cut


def test_batch_voicing_writes_the_same_manifest_as_one_go(tmp_path):
    plan = _plan([["The lamps were lit.", "Rain fell."], ["The quay was wet."], ["The lamps were lit."]])
    kw = dict(voice_spec=SPEC, book_id="b", narrator_id="n", sample_rate=22050)
    key = voice_key_for(**SPEC)
    local_dir, split_dir = tmp_path / "local", tmp_path / "split"
    voice_book(plan, local_dir, tmp_path / "local.json", workers=0, **kw)
    with pytest.raises(E3Error, match="has no finished audio"):
        write_manifest(plan, split_dir, tmp_path / "split.json", **kw)
    batches = plan_batches(plan, split_dir, key, 2)
    assert len(batches) == 2
    made = [voice_batch(plan, split_dir, b, voice_spec=SPEC, workers=0) for b in batches]
    assert sum(made) == 3  # three distinct texts: the repeated one is voiced once
    assert [voice_batch(plan, split_dir, b, voice_spec=SPEC, workers=0) for b in batches] == [0, 0]
    manifest, orphans = write_manifest(plan, split_dir, tmp_path / "split.json", **kw)
    assert orphans == 0
    # Piper samples its noise afresh on every call, so a separate run's audio differs in its
    # samples; the chunk names, order and pauses are the same, and voicing in one go over the
    # batches' files voices nothing and writes the very same manifest.
    local = json.loads((tmp_path / "local.json").read_text())
    keys = ("file", "chapter_index", "pause_after", "pause_kind", "sample_rate")
    assert [{k: e[k] for k in keys} for e in manifest["chunks"]] == [{k: e[k] for k in keys} for e in local["chunks"]]
    again = voice_book(plan, split_dir, tmp_path / "again.json", workers=0, **kw)
    assert again.synthesized == 0 and again.manifest == manifest
