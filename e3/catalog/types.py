"""Portable column types and server defaults (Postgres first, SQLite as the embedded default)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

# JSONB on Postgres (the seed's GIN index needs it), JSON text elsewhere.
JSONB = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class gen_random_uuid(FunctionElement):  # noqa: N801 - named after the SQL function
    """``DEFAULT gen_random_uuid()`` on Postgres; 32 random hex digits on SQLite.

    SQLAlchemy's ``Uuid`` stores UUIDs on SQLite as CHAR(32) hex without dashes, which is what
    ``lower(hex(randomblob(16)))`` yields, so rows inserted by plain SQL are valid there too.
    """

    type = sa.Uuid()
    inherit_cache = True


@compiles(gen_random_uuid, "postgresql")
def _pg_uuid(element, compiler, **kw):  # noqa: ARG001
    return "gen_random_uuid()"


@compiles(gen_random_uuid)
def _default_uuid(element, compiler, **kw):  # noqa: ARG001
    return "(lower(hex(randomblob(16))))"


CURRENT_TIMESTAMP = sa.text("CURRENT_TIMESTAMP")
