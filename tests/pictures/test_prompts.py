"""The offline extractive prompt writer and the LLM writer's validation."""

from __future__ import annotations

import json

import pytest

from e3.books.model import Chapter
from e3.demo_book import CHAPTERS
from e3.pictures.prompts import extractive_scenes, llm_scenes, write_prompts


@pytest.fixture
def chapters():
    return [Chapter(title, paragraphs) for title, paragraphs in CHAPTERS]


def test_scenes_come_from_each_chapters_own_text(chapters):
    scenes = extractive_scenes(chapters, 2, {"title": "The Lamplighter", "language": "en", "year": 2026})
    assert [(s["chapter_index"], s["scene_index"]) for s in scenes] == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    for scene in scenes:
        chapter = chapters[scene["chapter_index"]]
        assert scene["source_sentence"] in chapter.text
        words = {w.strip(".,;:").lower() for w in scene["source_sentence"].split() if len(w) > 4}
        assert sum(w in scene["prompt"].lower() for w in words) >= 2  # the prompt uses the sentence's words
        assert chapter.title.lower() not in scene["prompt"].lower()  # never a template of the title
        assert 0.0 <= scene["position"] <= 1.0
        assert scene["negative_prompt"] and scene["style"] in scene["prompt"]
    assert len({s["prompt"] for s in scenes}) == len(scenes)
    # The setting comes from the book's own place words.
    assert "harbour" in scenes[0]["prompt"] or "quay" in scenes[0]["prompt"]


def test_concrete_sentences_beat_dialogue_and_abstractions():
    chapter = Chapter("One", [
        "\"I do not know,\" she said, \"and I do not care what you think of it at all.\"",
        "The old lighthouse stood on the grey cliff above the harbour, its lamp burning gold at dusk.",
        "It was, in every sense that mattered, a question of principle.",
    ])
    [scene] = extractive_scenes([chapter], 1, {"title": "T", "language": "en"})
    assert scene["source_sentence"].startswith("The old lighthouse")


class FakeClient:
    model = "fake-model"

    def __init__(self, replies):
        self.replies = list(replies)
        self.calls = 0

    def complete_json(self, system, user, validate):
        self.calls += 1
        return validate(self.replies.pop(0))


def test_llm_scenes_are_validated(chapters):
    good = {"scenes": [{"position": 0.2, "prompt": "a lamplighter climbing a harbour wall at dusk with an oil can",
                        "negative_prompt": "text", "style": "oil painting"}]}
    scenes = llm_scenes(FakeClient([good, good, good]), chapters, 1, {"title": "T"})
    assert [s["chapter_index"] for s in scenes] == [0, 1, 2] and scenes[0]["style"] == "oil painting"
    with pytest.raises(ValueError, match="expected 1 scenes"):
        llm_scenes(FakeClient([{"scenes": []}]), chapters[:1], 1, {"title": "T"})
    with pytest.raises(ValueError, match="between 0 and 1"):
        bad = {"scenes": [{"position": 3, "prompt": "a long enough description of a scene"}]}
        llm_scenes(FakeClient([bad]), chapters[:1], 1, {"title": "T"})


def test_write_prompts_is_atomic_json(tmp_path, chapters):
    scenes = extractive_scenes(chapters, 1, {"title": "T", "language": "en"})
    data = write_prompts(tmp_path / "images" / "prompts.json", scenes, provider="extractive", model=None, book_id="b")
    on_disk = json.loads((tmp_path / "images" / "prompts.json").read_text())
    assert on_disk == data and on_disk["provider"] == "extractive" and len(on_disk["scenes"]) == 3
    assert [p.name for p in (tmp_path / "images").iterdir()] == ["prompts.json"]
