"""The offline channel-video planner and the plan validator (seed 004's prompts_json)."""

from __future__ import annotations

import copy
import json

import pytest

from e3.errors import E3Error
from e3.pictures.painter import read_prompt
from e3.video.music import style_for
from e3.video.plan import PlanError, plan_channel_video, validate_plan
from e3.studio import CROSSFADE_SECONDS, heard_minutes, planned_total, track_minutes

NICHE, MOOD = "Royal Court Ambience", "elegant, classical, serene"


@pytest.mark.parametrize("target", [60, 61, 75, 89, 90])
def test_twenty_unique_prompts_with_lengths_adding_up(target):
    plan = plan_channel_video(NICHE, MOOD, target, seed=4)
    music, visual = plan["music_prompts"], plan["visual_prompts"]
    assert [p["order_index"] for p in music] == list(range(1, 21))
    assert [p["order_index"] for p in visual] == list(range(1, 21))
    assert len({p["prompt"] for p in music}) == 20
    assert len({p["prompt"] for p in visual}) == 20
    assert len({p["title"] for p in music}) == 20
    minutes = [p["duration_minutes"] for p in music]
    heard = heard_minutes(minutes)  # each length less its share of the 19 crossfades
    assert all(3.0 <= m <= 4.5 for m in heard)
    assert all(round(m, 2) == m for m in minutes)  # hundredths of a minute
    assert round(sum(heard), 6) == target
    assert round(sum(minutes), 6) == planned_total(target)
    json.dumps(plan)  # storable as prompts_json


def test_prompts_are_written_from_the_niche_and_moods_and_vary():
    plan = plan_channel_video("Lo-Fi Study Beats", "chill, rainy, nostalgic", 72, seed=1)
    music, visual = plan["music_prompts"], plan["visual_prompts"]
    moods = ("chill", "rainy", "nostalgic")
    assert all("Lo-Fi Study Beats" in p["prompt"] for p in music + visual)
    assert all(any(m in p["prompt"].lower() for m in moods) for p in music + visual)
    assert all(p["prompt"].startswith("16:9") and "no text" in p["prompt"] for p in visual)
    # Music: many ensembles, keys and tempi, which the synthesizer reads back.
    styles = [style_for(p["prompt"]) for p in music]
    assert len({(s.key, s.mode) for s in styles}) >= 10
    assert len({s.tempo for s in styles}) >= 10
    assert len({s.timbre for s in styles}) >= 6
    # Pictures: several times of day, which the painter reads back.
    assert len({read_prompt(p["prompt"]).time for p in visual}) >= 3
    # Another niche gives other material, not the same template.
    other = plan_channel_video("Medieval Fantasy Ambience", "mysterious, calm", 72, seed=1)
    assert not {p["prompt"] for p in other["visual_prompts"]} & {p["prompt"] for p in visual}
    assert any("harp" in p["prompt"] or "lute" in p["prompt"] for p in other["music_prompts"])


def test_stated_key_and_tempo_reach_the_synthesizer():
    plan = plan_channel_video(NICHE, MOOD, 80, seed=2)
    for p in plan["music_prompts"]:
        style = style_for(p["prompt"])
        assert f"{style.tempo} BPM" in p["prompt"]
        if "pentatonic" in p["prompt"]:
            assert style.mode.startswith("pentatonic")
        else:
            quality = {"ionian": "major", "aeolian": "minor"}.get(style.mode, style.mode)
            assert f" in {style.key} {quality}," in p["prompt"], (p["prompt"], style.key, style.mode)


def test_deterministic_per_seed():
    a = plan_channel_video(NICHE, MOOD, 70, seed=9)
    assert a == plan_channel_video(NICHE, MOOD, 70, seed=9)
    b = plan_channel_video(NICHE, MOOD, 70, seed=10)
    assert [p["prompt"] for p in a["music_prompts"]] != [p["prompt"] for p in b["music_prompts"]]


@pytest.mark.parametrize("target", [59, 91, 0, 75.5, "75", True])
def test_target_outside_60_to_90_is_rejected(target):
    with pytest.raises(PlanError):
        plan_channel_video(NICHE, MOOD, target)


def test_empty_niche_or_mood_is_rejected():
    with pytest.raises(PlanError, match="niche"):
        plan_channel_video("  ", MOOD, 60)
    with pytest.raises(PlanError, match="mood"):
        plan_channel_video(NICHE, " , ", 60)


# ------------------------------------------------------------------------------------- validate_plan

@pytest.fixture
def good():
    return plan_channel_video(NICHE, MOOD, 75, seed=1)


def test_validate_accepts_a_good_plan_and_json_text(good):
    shuffled = copy.deepcopy(good)
    shuffled["music_prompts"].reverse()
    out = validate_plan(json.dumps(shuffled), 75)
    assert [p["order_index"] for p in out["music_prompts"]] == list(range(1, 21))
    assert out["music_prompts"][0]["title"] == good["music_prompts"][0]["title"]  # extra keys kept


def test_validate_catches_duplicates(good):
    bad = copy.deepcopy(good)
    bad["music_prompts"][5]["prompt"] = "  " + bad["music_prompts"][2]["prompt"].upper()
    with pytest.raises(PlanError, match=r"music_prompts #6 repeats #3"):
        validate_plan(bad, 75)
    bad = copy.deepcopy(good)
    bad["visual_prompts"][7]["order_index"] = 3
    with pytest.raises(PlanError, match="order_index"):
        validate_plan(bad, 75)


def test_validate_catches_short_plans_ranges_and_sums(good):
    short = copy.deepcopy(good)
    short["visual_prompts"].pop()
    with pytest.raises(PlanError, match="visual_prompts has 19 items"):
        validate_plan(short, 75)
    too_short = copy.deepcopy(good)
    too_short["music_prompts"][0]["duration_minutes"] = 2.5
    with pytest.raises(PlanError, match="outside 3-4.5"):
        validate_plan(too_short, 75)
    with pytest.raises(PlanError, match="add up to 75.64 minutes, not the target 80"):
        validate_plan(good, 80)
    empty = copy.deepcopy(good)
    empty["music_prompts"][4]["prompt"] = " "
    with pytest.raises(PlanError, match="empty"):
        validate_plan(empty, 75)
    with pytest.raises(PlanError, match="not valid JSON"):
        validate_plan("{music_prompts: nope", 75)
    with pytest.raises(PlanError, match="outside 60-90"):
        validate_plan(good, 91)
    # An LLM client that retries on ValueError also catches it; the CLI shows it as an E3Error.
    assert issubclass(PlanError, ValueError) and issubclass(PlanError, E3Error)


# ------------------------------------------------------------------------------------- crossfades

@pytest.mark.parametrize("target", [60, 90])
def test_planned_lengths_less_the_crossfades_last_the_target(target):
    # render_video overlaps consecutive tracks by the audio crossfade: 19 x 2 s come off the sum
    for minutes in (track_minutes(target, seed=3),
                    [p["duration_minutes"] for p in plan_channel_video(NICHE, MOOD, target, seed=3)["music_prompts"]]):
        video = sum(minutes) * 60 - (len(minutes) - 1) * CROSSFADE_SECONDS
        assert target * 60 <= video <= target * 60 + 1.0, video


def test_an_llm_plan_summing_to_the_target_gets_the_crossfades_added(good):
    heard = copy.deepcopy(good)
    for p, h in zip(heard["music_prompts"], heard_minutes([p["duration_minutes"] for p in good["music_prompts"]])):
        p["duration_minutes"] = h
    assert round(sum(p["duration_minutes"] for p in heard["music_prompts"]), 6) == 75
    out = validate_plan(heard, 75)
    planned = [p["duration_minutes"] for p in good["music_prompts"]]
    assert [p["duration_minutes"] for p in out["music_prompts"]] == planned
