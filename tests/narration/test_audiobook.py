"""The book's m4b from its chunks, without Dagster: steps reported, reuse by inputs hash, and
missing chunks refused before anything is written."""

import pytest

from e3.narration.audiobook import MissingChunks, make_book_m4b
from tests.media.helpers import speech_like


def _manifest(tmp_path):
    d = tmp_path / "chunks"
    d.mkdir()
    for i, sec in enumerate((1.2, 0.8, 1.5)):
        speech_like(d / f"c{i}.flac", sec, seed=i + 1)
    chunks = [{"file": "c0.flac", "chapter_index": 0, "pause_after": 0.75, "duration": 1.2},
              {"file": "c1.flac", "chapter_index": 2, "pause_after": 0.3, "duration": 0.8},
              {"file": "c2.flac", "chapter_index": 2, "pause_after": 2.0, "duration": 1.5}]
    chapters = [{"title": "One"}, {"title": "Empty"}, {"title": "Three"}]
    return {"chunks": chunks, "chapters": chapters}, d


def test_make_reuse_and_refuse(tmp_path):
    manifest, chunk_dir = _manifest(tmp_path)
    out, sidecar = tmp_path / "combined" / "b.m4b", tmp_path / "combined" / "b.m4b.json"
    steps = []
    made = make_book_m4b(manifest, chunk_dir, out, sidecar, {"title": "B"}, b"",
                         on_step=lambda step, status, error=None: steps.append((step, status)))
    assert not made.reused and out.is_file() and sidecar.is_file() and made.files == 3
    assert [c["title"] for c in made.info["chapters"]] == ["One", "Three"]  # chapters with narration
    assert made.info["duration"] == pytest.approx(1.2 + 0.75 + 0.8 + 0.3 + 1.5, abs=0.01)  # no pause at the end
    assert steps == [("audio_files_moved", "processing"), ("audio_files_moved", "completed"),
                     ("audio_combination_planned", "processing"), ("audio_combination_planned", "completed")]
    again = make_book_m4b(manifest, chunk_dir, out, sidecar, {"title": "B"}, b"")
    assert again.reused and again.info == made.info
    retagged = make_book_m4b(manifest, chunk_dir, out, sidecar, {"title": "B2"}, b"")
    assert not retagged.reused  # other tags: another file
    (chunk_dir / "c1.flac").unlink()
    steps.clear()
    with pytest.raises(MissingChunks, match="1 chunk files are missing"):
        make_book_m4b(manifest, chunk_dir, tmp_path / "x.m4b", tmp_path / "x.json", {"title": "B"}, b"",
                      on_step=lambda step, status, error=None: steps.append((step, status)))
    assert steps[-1] == ("audio_files_moved", "failed") and not (tmp_path / "x.m4b").exists()
