"""The book video's picture timeline (plain logic, no Dagster)."""

from __future__ import annotations

import sys
from pathlib import Path

from e3.video.book import Mark, Placement, Still, clip_timeline, placements, scene_positions, slide_timeline

P = Path("/pics")
COVER = P / "cover.png"


def card(i: int) -> Path:
    return P / f"card-{i}.png"


def pic(name: str) -> Path:
    return P / f"{name}.png"


def marks(*lengths: float) -> list[Mark]:
    out, t = [], 0.0
    for i, n in enumerate(lengths):
        out.append(Mark(f"Chapter {i + 1}", t, t + n, card(i)))
        t += n
    return out


def check_contiguous(stills: list[Still], total: float) -> None:
    assert stills[0].start == 0.0 and abs(stills[-1].end - total) < 1e-9
    for a, b in zip(stills, stills[1:]):
        assert abs(a.end - b.start) < 1e-9 and a.end > a.start
        assert a.image != b.image  # no invisible change


def opening(stills: list[Still], t: float) -> Path:
    return next(s.image for s in stills if abs(s.start - t) < 1e-9)


def test_one_picture_book_with_long_chapters_changes_every_few_minutes():
    ms = marks(540, 540, 540)  # three 9-minute chapters, one picture (chapter 1, at its start)
    stills = slide_timeline(ms, [Placement(0, 0.0, pic("a"))], max_hold=180, cover=COVER)
    check_contiguous(stills, 1620)
    assert all(s.end - s.start <= 180 + 1e-9 for s in stills)
    assert opening(stills, 0) == pic("a")
    assert opening(stills, 540) == card(1) and opening(stills, 1080) == card(2)
    first = [s.image for s in stills if s.end <= 540]
    assert first == [pic("a"), card(0), pic("a")]  # the picture alternates with its chapter's card
    assert {s.image for s in stills if s.start >= 540} == {card(1), card(2), COVER}


def test_a_chapter_without_a_picture_opens_on_its_title_card():
    ms = marks(60, 30, 60)
    stills = slide_timeline(ms, [Placement(0, 0.0, pic("a")), Placement(2, 0.0, pic("c"))], cover=COVER)
    check_contiguous(stills, 150)
    assert [(s.image, s.start, s.end) for s in stills] == [
        (pic("a"), 0, 60), (card(1), 60, 90), (pic("c"), 90, 150)]  # never the previous chapter's picture


def test_a_picture_placed_late_in_a_chapter():
    ms = marks(100, 600)
    stills = slide_timeline(ms, [Placement(0, 0.8, pic("late")), Placement(1, 0.9, pic("later"))],
                            max_hold=180, cover=COVER)
    check_contiguous(stills, 700)
    assert [(s.image, s.start, s.end) for s in stills[:2]] == [(card(0), 0, 80), (pic("late"), 80, 100)]
    # chapter 2: its card for 540 s, alternating with its own picture; the picture at 640 s as placed
    two = [s for s in stills if s.start >= 100]
    assert two[0].image == card(1) and two[0].start == 100
    assert all(s.end - s.start <= 180 + 1e-9 for s in two)
    assert two[-1] == Still(pic("later"), 640, 700)


def test_many_pictures_in_one_chapter():
    ms = marks(1200)
    places = [Placement(0, k / 4, pic(f"p{k}")) for k in range(4)]  # every 300 s
    places.append(Placement(0, 0.2505, pic("p1b")))  # 0.6 s after p1: nudged to stay visible
    stills = slide_timeline(ms, places, max_hold=180, cover=COVER)
    check_contiguous(stills, 1200)
    assert all(s.end - s.start <= 180 + 1e-9 for s in stills)
    assert stills[0].image == pic("p0")
    starts = {s.image: s.start for s in reversed(stills)}  # first appearance of each
    assert starts[pic("p1")] == 300 and starts[pic("p1b")] == 301 and starts[pic("p3")] == 900
    assert starts[pic("p2")] == 600
    # long gaps reuse the chapter's other pictures rather than a 5-minute still
    assert len({s.image for s in stills}) >= 5


def test_short_gaps_are_not_cut_and_short_book_keeps_one_still_per_picture():
    ms = marks(20, 40)
    stills = slide_timeline(ms, [Placement(0, 0.0, pic("a")), Placement(0, 0.5, pic("b")),
                                 Placement(1, 0.5, pic("c"))], cover=COVER)
    assert [(s.image, s.start, s.end) for s in stills] == [
        (pic("a"), 0, 10), (pic("b"), 10, 20), (card(1), 20, 40), (pic("c"), 40, 60)]
    # a book without pictures: one card per chapter
    assert [s.image for s in slide_timeline(ms, [], cover=COVER)] == [card(0), card(1)]


def test_placements_from_scene_files_and_prompts(tmp_path):
    prompts = {"scenes": [{"chapter_index": 0, "scene_index": 0}, {"chapter_index": 0, "scene_index": 1},
                          {"chapter_index": 2, "scene_index": 0, "position": 0.5},
                          {"chapter_index": 1, "scene_index": 0}]}
    images = [tmp_path / n for n in ("scene-001-1-aaaa.png", "scene-001-2-bbbb.png", "scene-003-1-cccc.png",
                                     "scene-002-1-dddd.png", "video-card-001-ab.png")]
    # parsed chapter 1 has no narration (e.g. a title page): its picture is left out
    got = placements(images, scene_positions(prompts), {0: 0, 2: 1})
    assert got == [Placement(0, 0.0, images[0]), Placement(0, 0.5, images[1]), Placement(1, 0.5, images[2])]
    ms = [Mark("One", 0.0, 20.0, tmp_path / "c1.png"), Mark("Two", 20.0, 60.0, tmp_path / "c2.png")]
    assert [(s.image, s.start) for s in slide_timeline(ms, got)] == [
        (images[0], 0.0), (images[1], 10.0), (ms[1].card, 20.0), (images[2], 40.0)]


def test_clip_timeline_for_per_chapter_videos():
    stills = [Still(pic("a"), 0, 10), Still(pic("b"), 10, 30.5), Still(pic("c"), 30.5, 50)]
    assert clip_timeline(stills, 10, 30) == [Still(pic("b"), 10, 30)]
    assert clip_timeline(stills, 5, 31) == [Still(pic("a"), 5, 10), Still(pic("b"), 10, 31)]  # 0.5 s sliver joins
    assert clip_timeline(stills, 0, 50) == stills


def test_no_dagster_needed():
    assert "dagster" not in sys.modules or "e3.video.book" in sys.modules  # imported above without it


def test_shift_srt_keeps_a_chapters_cues_from_zero():
    from e3.video.book import shift_srt

    srt = ("1\n00:00:01,000 --> 00:00:03,000\nBefore\n\n2\n00:01:00,500 --> 00:01:02,000\nInside\n\n"
           "3\n00:01:59,000 --> 00:02:01,000\nAcross the end\n")
    out = shift_srt(srt, 60.0, 120.0)
    assert "Before" not in out and "00:00:00,500 --> 00:00:02,000" in out
    assert "00:00:59,000 --> 00:01:00,000" in out  # cut at the chapter's end


def test_make_book_videos_names_what_is_missing(tmp_path):
    import pytest

    from e3.foundry import Foundry
    from e3.video.book import BookVideoError, make_book_videos

    paths = Foundry(tmp_path).book("b")
    with pytest.raises(BookVideoError, match=r"b: .*b\.m4b\.json is missing; materialize audiobook_m4b"):
        make_book_videos(paths, "b", [], render_kwargs={}, per_chapter=False)
