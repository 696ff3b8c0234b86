"""Render ``sql/schema.sql``: the Postgres DDL of the catalog, straight from the migrations.

``python -m e3.catalog.schema_sql > sql/schema.sql`` regenerates it; a test keeps the committed
file equal to this output and checks that a database built from it matches a migrated one.
"""

from __future__ import annotations

import io
import re
import sys

HEADER = """-- E3 catalog: the Postgres DDL of every seed table.
-- Generated from the Alembic migrations in sql/migrations by `python -m e3.catalog.schema_sql`.
-- Do not edit by hand: change a migration, then regenerate (tests/catalog/test_schema_sql.py checks it).
"""


def render_postgres_ddl() -> str:
    from alembic import command

    from e3.catalog.db import alembic_config

    buffer = io.StringIO()
    cfg = alembic_config("postgresql+psycopg://offline@localhost/e3")
    cfg.output_buffer = buffer
    command.upgrade(cfg, "head", sql=True)
    text = buffer.getvalue()
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return HEADER + "\n" + text


if __name__ == "__main__":
    sys.stdout.write(render_postgres_ddl())
