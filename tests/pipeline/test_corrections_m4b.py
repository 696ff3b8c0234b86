"""chapters.toml end to end: an edit changes the m4b's chapters, and only the edited chapters are
voiced again (chunk files are named by a hash of their spoken text and voice)."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from e3.demo_book import write_epub
from e3.foundry import Foundry
from e3.media.mp4boxes import nero_chapters, quicktime_chapters
from tests.pipeline.helpers import materialize, register

BOOK = [  # each chapter over the 12 words a parsed chapter needs
    ("Chapter One", ["The lamp was lit at six.", "Mara climbed the wall with her oil can and a ladder."]),
    ("Chapter Two", ["The fog came in from the north.", "It hid the harbour and the boats."]),
    ("Chapter Three", ["Everyone in town brought a lantern.", "The baker brought two of them."]),
    ("Chapter Four", ["By midnight the quay was bright again.", "Mara went home to sleep."]),
]
PRODUCE = ["book_source", "parsed_chapters", "narration_chunks", "audio_chunks", "audiobook_m4b"]
EDIT = """\
[rename]
"Chapter Two" = "The Fog"

[[merge]]
chapters = ["Chapter Three", "Chapter Four"]
"""


def _metadata(result, asset: str) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node(asset)[-1].metadata.items()}


def _chunk_files(paths) -> dict[str, int]:
    """Chunk audio file name -> its modification time (ns)."""
    return {p.name: p.stat().st_mtime_ns for p in paths.audio_chunks.iterdir() if p.suffix != ".json"}


def _files_by_chapter(paths) -> dict[int, set[str]]:
    manifest = json.loads(paths.audio_manifest.read_text(encoding="utf-8"))
    out: dict[int, set[str]] = {}
    for entry in manifest["chunks"]:
        out.setdefault(entry["chapter_index"], set()).add(entry["file"])
    return out


@pytest.mark.slow
def test_a_chapters_toml_edit_changes_the_m4b_and_revoices_only_the_edited_chapters(e3_env):
    src = write_epub(e3_env / "src" / "lamps.epub", "Four Lamps", "E3 Tests", BOOK, year="2026")
    register("lamps", str(src), title="Four Lamps")
    paths = Foundry(e3_env / "foundry").book("lamps")
    with dg.instance_for_test() as instance:
        first = materialize(instance, "lamps", PRODUCE)
        m4b = paths.m4b("lamps")
        titles = [t for t, _ in BOOK]
        assert [c.title for c in quicktime_chapters(m4b)] == titles
        assert [c.title for c in nero_chapters(m4b)] == titles
        voiced_first = _metadata(first, "audio_chunks")["synthesized_now"]
        before = _chunk_files(paths)
        before_by_chapter = _files_by_chapter(paths)
        assert voiced_first == len(before) > 0

        paths.chapters_toml.write_text(EDIT, encoding="utf-8")
        second = materialize(instance, "lamps", PRODUCE)
        edited = ["Chapter One", "The Fog", "Chapter Three"]
        assert [c.title for c in quicktime_chapters(m4b)] == edited
        assert [c.title for c in nero_chapters(m4b)] == edited
        assert _metadata(second, "audiobook_m4b")["chapters"] == 3

        after = _chunk_files(paths)
        after_by_chapter = _files_by_chapter(paths)
        new = set(after) - set(before)
        # The untouched chapter keeps every chunk file, not rewritten.
        assert after_by_chapter[0] == before_by_chapter[0]
        assert all(after[f] == before[f] for f in after_by_chapter[0])
        # The renamed heading is the only new voice: its paragraphs, and the merged chapter (whose
        # second title is now read as text, the same words as the old heading), are reused.
        assert len(new) == 1 and new <= after_by_chapter[1]
        assert after_by_chapter[1] - new <= before_by_chapter[1]
        assert after_by_chapter[2] <= before_by_chapter[2] | before_by_chapter[3]
        meta = _metadata(second, "audio_chunks")
        assert meta["synthesized_now"] == 1 and meta["reused"] == len(after) - 1
        assert set(before) - set(after) == set(before_by_chapter[1]) - set(after_by_chapter[1])  # old heading gone
