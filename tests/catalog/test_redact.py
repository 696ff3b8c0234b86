"""Database URLs in messages never show any part of a password, in any form."""

import pytest

from e3.catalog.db import redact


@pytest.mark.parametrize("url,shown", [
    ("postgresql+psycopg://u:p@ss@host:5432/db", "postgresql+psycopg://u:***@host:5432/db"),
    ("postgresql+psycopg://u:p%40ss@host/db", "postgresql+psycopg://u:***@host/db"),
    ("postgresql://u:se:cr@et@h/db", "postgresql://u:***@h/db"),
    ("postgresql://u:a/b@c@h:1/db?sslmode=require", "postgresql://u:***@h:1/db?sslmode=require"),
    ("postgresql://u@h/db", "postgresql://u@h/db"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_redact(url, shown):
    assert redact(url) == shown
    for secret in ("p@ss", "ss@", "se:cr", "cr@et", "a/b"):
        if secret in url:
            assert secret not in redact(url)


@pytest.mark.postgres
def test_a_dagster_database_name_is_quoted_not_pasted(monkeypatch):
    """E3_DAGSTER_PG_DB with a quote and a space is created as exactly that name."""
    import sqlalchemy as sa

    from e3.dagster_home import _ensure_pg_database
    from tests.conftest import _pg_admin_engine, require_postgres

    require_postgres()

    name = 'e3 test "db"; drop'
    admin = _pg_admin_engine()
    url = sa.engine.make_url(admin.url)
    monkeypatch.setenv("E3_DAGSTER_PG_USER", url.username or "postgres")
    monkeypatch.setenv("E3_DAGSTER_PG_PASSWORD", url.password or "")
    monkeypatch.setenv("E3_DAGSTER_PG_HOST", url.host or "127.0.0.1")
    monkeypatch.setenv("E3_DAGSTER_PG_PORT", str(url.port or 5432))
    monkeypatch.setenv("E3_DAGSTER_PG_DB", name)
    try:
        _ensure_pg_database()
        with admin.connect() as conn:
            assert conn.execute(sa.text("select 1 from pg_database where datname = :n"), {"n": name}).scalar()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {conn.dialect.identifier_preparer.quote_identifier(name)}"))
        admin.dispose()


def test_a_raw_at_in_the_password_never_reaches_the_host_part():
    from e3.catalog.db import normalize_url
    from sqlalchemy.engine import make_url

    url = normalize_url("postgresql://u:p@ss@127.0.0.1:1/db")
    parsed = make_url(url)
    assert parsed.password == "p@ss" and parsed.host == "127.0.0.1" and parsed.port == 1
    assert normalize_url("postgresql://u:p%40ss@h/db") == "postgresql+psycopg://u:p%40ss@h/db"  # already encoded


def test_the_cannot_connect_message_shows_no_piece_of_the_password():
    import pytest

    from e3.catalog.db import check_connection, make_engine
    from e3.errors import CatalogUnavailable

    engine = make_engine("postgresql://u:p@ss@127.0.0.1:1/db")
    with pytest.raises(CatalogUnavailable) as info:
        check_connection(engine)
    msg = str(info.value)
    assert "p@ss" not in msg and "ss@" not in msg and "u:***@127.0.0.1:1/db" in msg
