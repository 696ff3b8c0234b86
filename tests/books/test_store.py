"""A book's parse and chunk plan in the foundry, without Dagster (e3.books.store)."""

from __future__ import annotations

import json

import pytest

from e3.books.store import NoInput, NotParsed, load_chapters, parse_into_foundry, plan_into_foundry
from e3.foundry import Foundry

BOOK = """The Lantern Keeper

by Ada Example

CHAPTER I. THE SHORE

The lantern keeper walked the shore every evening. She counted the boats and the gulls,
and she wrote both numbers in a small book that nobody else ever read.

CHAPTER II. THE STORM

On the ninth night a storm came in from the west. The keeper climbed the stairs two at a time,
and the lamp burned until the morning.
"""


def test_parse_writes_chapters_then_metadata_and_plan_reads_them(tmp_path):
    paths = Foundry(tmp_path).book("lantern")
    with pytest.raises(NoInput):
        parse_into_foundry(paths, "lantern", fallback_title="x")
    paths.root.mkdir(parents=True)
    (paths.root / "input.txt").write_text(BOOK, encoding="utf-8")
    parsed = parse_into_foundry(paths, "lantern", fallback_title="fallback")
    assert [c.title for c in parsed.book.chapters] == ["CHAPTER I. THE SHORE", "CHAPTER II. THE STORM"]
    meta = json.loads(paths.parse_metadata.read_text())
    assert meta["book_id"] == "lantern" and len(list(paths.chapters.glob("*.json"))) == len(parsed.book.chapters)
    assert json.loads(paths.metadata.read_text())["title"] == parsed.book.title
    again = parse_into_foundry(paths, "lantern", fallback_title="fallback")
    assert again.data_version == parsed.data_version  # same input, same version
    _meta, chapters = load_chapters(paths)
    assert sum(c.words for c in chapters) == parsed.book.total_words
    plan = plan_into_foundry(paths, "lantern", chunk_limit=120)
    written = json.loads(paths.chunk_plan.read_text())
    assert plan.longest <= 120 and written["chunk_limit"] == 120 and plan.chunks == len(written["chunks"])
    assert "storm came in from the west" in " ".join(c["text"] for c in written["chunks"])


def test_a_failed_parse_leaves_no_stale_parse_behind(tmp_path):
    paths = Foundry(tmp_path).book("broken")
    paths.root.mkdir(parents=True)
    (paths.root / "input.txt").write_text(BOOK, encoding="utf-8")
    parse_into_foundry(paths, "broken", fallback_title="b")
    plan_into_foundry(paths, "broken", chunk_limit=200)
    (paths.root / "input.txt").unlink()
    (paths.root / "input.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    with pytest.raises(Exception):
        parse_into_foundry(paths, "broken", fallback_title="b")
    assert not paths.parse_metadata.exists() and not paths.chunk_plan.exists() and not paths.chapters.exists()
    with pytest.raises(NotParsed, match="materialize parsed_chapters first"):
        load_chapters(paths)
