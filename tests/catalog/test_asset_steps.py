"""One map from book asset to catalog steps: the assets, the CLI, the README and the seed's
steps agree."""

import re
from pathlib import Path

from e3.catalog.status import ASSET_STEPS, FAILURE_STEP, STEPS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_book_asset_is_mapped_and_every_step_has_one_owner():
    from e3_assets.definitions import audiobook_job_asset_keys

    assert set(ASSET_STEPS) == set(audiobook_job_asset_keys())
    owned = [s for steps in ASSET_STEPS.values() for s in steps]
    assert sorted(owned) == sorted(STEPS), "each seed step is moved by exactly one asset"
    assert all(not ASSET_STEPS[a] and FAILURE_STEP[a] in STEPS for a in FAILURE_STEP)


def test_the_readme_table_names_each_assets_steps():
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)` \| [^|]* \| ([^|]*) \|$",
                                                         README.read_text(), re.M)}
    for asset, steps in ASSET_STEPS.items():
        assert asset in rows, f"README's asset table has no row for {asset}"
        for step in steps:
            assert re.search(rf"\b{step}\b", rows[asset]), f"README: {asset} should name {step}"
        if not steps:
            assert "no step of its own" in rows[asset]


def test_the_cli_progress_follows_the_map():
    from e3.cli.core import _steps_of

    assert _steps_of("parsed_chapters,audiobook_m4b") == ["metadata", "parse_novel", "audio_files_moved",
                                                           "audio_combination_planned", "audio_combination"]
    assert _steps_of("book_source,narration_chunks") == []


def test_book_source_and_chunk_planning_move_no_step(e3_env):
    import dagster as dg

    from e3.catalog.status import book_status
    from e3.demo_book import write_demo_book
    from tests.pipeline.helpers import catalog_engine, materialize, register

    src = write_demo_book(e3_env / "src")
    register("demo", str(src), title="Demo")
    with dg.instance_for_test() as instance:
        materialize(instance, "demo", ["book_source"])
        assert book_status(catalog_engine(), "demo")["parse_novel_status"] == "pending"
        materialize(instance, "demo", ["parsed_chapters", "narration_chunks"])
    status = book_status(catalog_engine(), "demo")
    assert status["parse_novel_status"] == "completed" and status["audio_generation_status"] == "pending"
    assert status["total_chunks"] > 0


def test_readable_units_beside_raw_values():
    from e3_assets.common import human_duration, human_size

    assert human_duration(93.22) == "1:33" and human_duration(5585.3) == "1:33:05"
    assert human_size(855934) == "836 KB" and human_size(512) == "512 bytes"
    assert human_size(3 * 1024 ** 3) == "3.0 GB"
