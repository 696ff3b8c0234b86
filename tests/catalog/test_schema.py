"""The catalog mirrors every seed table; migrations, models and sql/schema.sql agree."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import pytest

from e3.catalog.db import SQL_DIR, make_engine, migrate
from e3.catalog.models import Base
from e3.catalog.schema_sql import render_postgres_ddl
from tests.catalog.seeds import ddl_tables, erd_tables, seed_text

SEED_TABLES = {
    "000": ["titles", "narrators", "audiobook_production", "comfyui_jobs"],
    "002": ["users", "audiobooks", "conversion_jobs"],
    "003": ["jobs"],
    "004": ["channels", "video_jobs", "audio_tracks", "images", "render_tasks"],
}


@pytest.mark.parametrize("seed", sorted(SEED_TABLES))
def test_every_seed_table_and_column_is_in_the_models(seed):
    text = seed_text(seed)
    documented = erd_tables(text) if seed == "000" else ddl_tables(text)
    assert set(SEED_TABLES[seed]) <= set(documented), documented.keys()
    for table in SEED_TABLES[seed]:
        model_cols = set(Base.metadata.tables[table].columns.keys())
        missing = [c for c in documented[table] if c not in model_cols]
        assert not missing, f"{table} lacks seed columns {missing}"


DESC_INDEXES = {f"idx_{t}_created_at" for t in ("audiobooks", "channels", "video_jobs", "render_tasks")}


def _is_desc_index_diff(diff) -> bool:
    # Alembic cannot compare expression indexes (created_at DESC); test_desc_indexes checks them.
    return diff[0] in ("add_index", "remove_index") and diff[1].name in DESC_INDEXES


def _diffs(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return [d for d in compare_metadata(ctx, Base.metadata) if not _is_desc_index_diff(d)]
    finally:
        engine.dispose()


def test_migrations_match_models_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    migrate(url)
    assert _diffs(url) == []


@pytest.mark.postgres
def test_migrations_match_models_on_postgres(pg_url):
    migrate(pg_url)
    assert _diffs(pg_url) == []


def test_migrate_twice_is_a_no_op(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    migrate(url)
    migrate(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select version_num from alembic_version")).scalar() == "0002"
    engine.dispose()


def test_schema_sql_is_the_rendered_migrations():
    committed = (SQL_DIR / "schema.sql").read_text(encoding="utf-8")
    assert committed == render_postgres_ddl(), "sql/schema.sql is stale: run python -m e3.catalog.schema_sql > sql/schema.sql"


def _pg_catalog(url: str) -> dict:
    """Everything that defines the schema, read from pg_catalog."""
    engine = make_engine(url)
    q = {
        "columns": """select table_name, column_name, data_type, udt_name, is_nullable, column_default,
                             character_maximum_length, numeric_precision, numeric_scale
                      from information_schema.columns where table_schema='public'
                      order by table_name, column_name""",
        "constraints": """select conrelid::regclass::text, conname, pg_get_constraintdef(oid)
                          from pg_constraint where connamespace='public'::regnamespace
                          order by 1, 2""",
        "indexes": "select tablename, indexname, indexdef from pg_indexes where schemaname='public' order by 1, 2",
        "enums": """select t.typname, e.enumlabel, e.enumsortorder from pg_type t
                    join pg_enum e on e.enumtypid=t.oid order by 1, 3""",
    }
    try:
        with engine.connect() as conn:
            return {k: [tuple(r) for r in conn.execute(sa.text(v))] for k, v in q.items()}
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_schema_sql_builds_the_same_database_as_the_migrations(pg_url, tmp_path):
    import uuid

    from tests.conftest import _pg_admin_engine

    migrate(pg_url)
    other = pg_url.rsplit("/", 1)[0] + f"/e3_test_sql_{uuid.uuid4().hex[:8]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{other.rsplit("/", 1)[1]}"'))
    try:
        engine = make_engine(other)
        with engine.begin() as conn:
            conn.exec_driver_sql((SQL_DIR / "schema.sql").read_text(encoding="utf-8").replace("BEGIN;", "").replace("COMMIT;", ""))
        engine.dispose()
        assert _pg_catalog(other) == _pg_catalog(pg_url)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{other.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()


def test_sqlite_gets_the_seed_pragmas(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar().lower() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == 10000
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    engine.dispose()


def _desc_index_sql(url: str) -> dict[str, str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(sa.text("select name, sql from sqlite_master where type='index'"))
        else:
            rows = conn.execute(sa.text("select indexname, indexdef from pg_indexes where schemaname='public'"))
        found = {name: sql for name, sql in rows if name in DESC_INDEXES}
    engine.dispose()
    return found


def test_desc_indexes_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    migrate(url)
    found = _desc_index_sql(url)
    assert set(found) == DESC_INDEXES and all("DESC" in sql for sql in found.values())


@pytest.mark.postgres
def test_desc_indexes_on_postgres(pg_url):
    migrate(pg_url)
    found = _desc_index_sql(pg_url)
    assert set(found) == DESC_INDEXES and all("DESC" in sql for sql in found.values())
