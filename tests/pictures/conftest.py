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


@pytest.fixture
def engine(db_url):
    """An engine on ``db_url``, disposed afterwards."""
    from e3.catalog.db import make_engine

    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def fake():
    """A running fake ComfyUI server (tests/pictures/fake_comfyui.py)."""
    from tests.pictures.fake_comfyui import FakeComfyUI

    with FakeComfyUI() as server:
        yield server
