"""Shared fixtures.

- ``corpus``: the third-party test corpus in ``../shared/corpus``. Tests that need it skip, with a
  reason, where it is absent (a user's clone).
- ``e3_env``: an isolated E3 setup (SQLite catalog + foundry in a tmp dir).
- ``pg_url``: a fresh Postgres database on the local server. Where ``CI`` is set and the server
  is unreachable, the test fails instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("E3_TEST_CORPUS", PROJECT_ROOT.parent / "shared" / "corpus"))


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"test corpus not found at {CORPUS} (it lives in ../shared/corpus)")
    return CORPUS


def corpus_file(relative: str) -> Path:
    """Path to one corpus file, or skip the test with a reason when it is absent."""
    path = CORPUS / relative
    if not path.exists():
        pytest.skip(f"corpus file {relative} not found under {CORPUS}")
    return path


@pytest.fixture
def e3_env(tmp_path, monkeypatch):
    """An isolated E3: SQLite catalog and foundry under tmp_path, no .env from the cwd."""
    monkeypatch.setenv("E3_HOME", str(tmp_path))
    monkeypatch.setenv("E3_DATABASE_URL", f"sqlite:///{tmp_path / 'catalog.db'}")
    monkeypatch.setenv("E3_FOUNDRY", str(tmp_path / "foundry"))
    monkeypatch.setenv("E3_DOTENV", str(tmp_path / "no.env"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("E3_DAGSTER_STORAGE", "sqlite")
    monkeypatch.setenv("E3_ENV", "alpha")
    monkeypatch.delenv("E3_COMFYUI_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("E3_LLM_BASE_URL", raising=False)
    return tmp_path


PG_ADMIN_URL = os.environ.get("E3_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_admin_engine():
    import sqlalchemy as sa

    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


def require_postgres():
    """Skip (or, under CI, fail) when the local Postgres is unreachable."""
    import sqlalchemy as sa

    try:
        with _pg_admin_engine().connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # noqa: BLE001
        msg = f"Postgres at {PG_ADMIN_URL} is unreachable: {exc.__class__.__name__}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(msg + " (CI is set: Postgres tests must run)")
        pytest.skip(msg)


@pytest.fixture
def pg_url():
    """A new, empty Postgres database; dropped afterwards."""
    import sqlalchemy as sa

    require_postgres()
    name = f"e3_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
