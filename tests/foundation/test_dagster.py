"""The Dagster project: definitions load, and the instance works on SQLite and Postgres storage."""

from __future__ import annotations

import dagster as dg
import pytest

from e3.catalog.service import init_catalog, register_title
from e3.config import load_settings
from e3.dagster_home import ensure_dagster_home
from e3.demo_book import write_demo_book
from e3.foundry import Foundry


def test_definitions_hold_the_graph_and_partitions():
    from e3_assets.definitions import defs

    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"book_source", "parsed_chapters", "narration_chunks"} <= keys
    parts = {repo.assets_defs_by_key[dg.AssetKey(k)].partitions_def.name for k in keys
             if repo.assets_defs_by_key[dg.AssetKey(k)].partitions_def is not None}
    assert "books" in parts
    assert repo.get_sensor_def("inbox_sensor") is not None


def _materialize_demo(instance) -> None:
    from e3_assets.books.assets import book_source, parsed_chapters
    from e3_resources import CatalogResource, FoundryResource

    settings = load_settings()
    engine = init_catalog(settings.database_url)
    source = write_demo_book(Foundry(settings.foundry).cache)
    register_title(engine, "demo", title="x", source_url=str(source))
    instance.add_dynamic_partitions("books", ["demo"])
    result = dg.materialize([book_source, parsed_chapters], partition_key="demo", instance=instance,
                            resources={"catalog": CatalogResource(), "foundry": FoundryResource()})
    assert result.success
    records = instance.fetch_materializations(dg.AssetKey("parsed_chapters"), limit=5).records
    assert records and records[0].partition_key == "demo"


def test_sqlite_instance_from_project_yaml(e3_env):
    home = ensure_dagster_home(load_settings())
    assert (home / "dagster.yaml").read_text().find("free_slots_after_run_end_seconds") > 0
    with dg.DagsterInstance.get() as instance:
        assert "Sqlite" in type(instance.run_storage).__name__
        _materialize_demo(instance)


@pytest.mark.postgres
def test_postgres_instance_from_project_yaml(e3_env, pg_url, monkeypatch):
    db = pg_url.rsplit("/", 1)[1]
    monkeypatch.setenv("E3_DAGSTER_STORAGE", "postgres")
    monkeypatch.setenv("E3_DAGSTER_PG_DB", db)
    home = ensure_dagster_home(load_settings())
    assert "postgres" in (home / "dagster.yaml").read_text()
    with dg.DagsterInstance.get() as instance:
        assert "Postgres" in type(instance.run_storage).__name__
        _materialize_demo(instance)
        assert instance.get_runs_count() >= 1
