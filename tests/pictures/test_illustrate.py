"""Illustration requests and catalog rows without Dagster."""

from pathlib import Path

from e3.catalog.service import init_catalog, register_title
from e3.pictures.generate import ImageResult
from e3.pictures.illustrate import remove_orphan_scenes, scene_requests, sync_book_images


def test_requests_rows_and_orphans(tmp_path):
    scenes = [{"chapter_index": 0, "prompt": "a lamp on the quay"},
              {"chapter_index": 0, "prompt": "rain over the harbour"},
              {"chapter_index": 1, "prompt": "a lamp on the quay"},  # same prompt, other chapter: own file
              {"chapter_index": 1, "prompt": "a lamp on the quay"}]  # and again: the same picture
    reqs = scene_requests("b", scenes, tmp_path, 320, 180, "dummy")
    assert [r.out.name.split("-")[1:3] for r in reqs] == [["001", "1"], ["001", "2"], ["002", "1"], ["002", "2"]]
    assert len({r.out for r in reqs}) == len({r.key for r in reqs}) == 4 and all(r.width == 320 for r in reqs)
    twice = scene_requests("b", [scenes[0], {**scenes[0], "scene_index": 0}], tmp_path, 320, 180, "dummy")
    assert len(twice) == 1  # the very same scene twice: one picture serves both
    again = scene_requests("b", scenes, tmp_path, 320, 180, "dummy")
    assert [r.out for r in again] == [r.out for r in reqs]  # stable names: reruns find the files
    assert scene_requests("b", scenes, tmp_path, 320, 180, "comfyui:x:y")[0].out != reqs[0].out
    engine = init_catalog(f"sqlite:///{tmp_path / 'c.db'}")
    register_title(engine, "b", title="B", source_url="x.txt")
    results = [ImageResult(r, r.out, "dummy", reused=False) for r in reqs]
    for r in reqs:
        r.out.write_bytes(b"png")
    (tmp_path / "scene-009-1-deadbeef00.png").write_bytes(b"old")
    assert sync_book_images(engine, "b", results) == len(reqs)
    assert sync_book_images(engine, "b", results[:1]) == 1  # rows of vanished pictures go
    assert remove_orphan_scenes(tmp_path, results[:1]) == len(reqs)  # the old one and the dropped ones
    assert sorted(p.name for p in Path(tmp_path).glob("scene-*.png")) == [reqs[0].out.name]
