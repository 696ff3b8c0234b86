"""Fixtures shared by the queue tests: the same catalog schema on SQLite and on Postgres."""

from __future__ import annotations

import pytest

from e3.catalog.db import create_all, make_engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A catalog URL with every table created: a SQLite file, or a fresh Postgres database."""
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else f"sqlite:///{tmp_path / 'q.db'}"
    engine = make_engine(url)
    create_all(engine)
    engine.dispose()
    return url
