"""The foundry tree and its atomic writes."""

from __future__ import annotations

import pytest

from e3.foundry import Foundry, InvalidBookId, slugify
from e3.fsutil import atomic_path


def test_book_tree_follows_the_seed(tmp_path):
    f = Foundry(tmp_path)
    paths = f.book("pg98")
    paths.make_tree()
    for sub in ("audiobook/audio_chunks", "audiobook/combined", "audiobook/subtitles", "images", "videos"):
        assert (tmp_path / "pg98" / sub).is_dir()
    assert paths.parse_metadata == tmp_path / "pg98" / "audiobook" / "metadata.json"
    assert paths.m4b("pg98") == tmp_path / "pg98" / "audiobook" / "combined" / "pg98.m4b"
    assert f.video_job("vj-1").parent.name == "_video_jobs"


def test_store_input_replaces_atomically(tmp_path):
    f = Foundry(tmp_path / "foundry")
    src = tmp_path / "Book.TXT"
    src.write_text("one")
    stored = f.store_input("my-book", src)
    assert stored.name == "input.txt" and stored.read_text() == "one"
    epub = tmp_path / "b.epub"
    epub.write_bytes(b"PK")
    stored = f.store_input("my-book", epub)
    assert [p.name for p in (tmp_path / "foundry" / "my-book").glob("input.*")] == ["input.epub"]


@pytest.mark.parametrize("bad", ["", "Upper", "has_underscore", "-lead", "a" * 64, "../x"])
def test_book_ids_are_validated(tmp_path, bad):
    with pytest.raises(InvalidBookId):
        Foundry(tmp_path).book(bad)


def test_slugify():
    assert slugify("Les Misérables, Tome I") == "les-miserables-tome-i"
    assert slugify("***") == "book"


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    final = tmp_path / "out.m4b"
    with pytest.raises(RuntimeError):
        with atomic_path(final) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash")
    assert not final.exists()
    assert list(tmp_path.iterdir()) == []
    with atomic_path(final) as tmp:
        assert tmp.suffix == ".m4b"
        tmp.write_bytes(b"whole")
    assert final.read_bytes() == b"whole"
