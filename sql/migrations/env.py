"""Alembic environment for the E3 catalog.

Run through ``e3 init`` (or ``e3.catalog.db.migrate``), which passes the connection; the plain
``alembic -c sql/alembic.ini upgrade head`` also works and reads ``E3_DATABASE_URL`` via E3's
settings.
"""

from __future__ import annotations

from alembic import context

from e3.catalog.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from e3.catalog.db import normalize_url
    from e3.config import load_settings

    return normalize_url(load_settings().database_url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    from e3.catalog.db import make_engine

    engine = make_engine(_url())
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
