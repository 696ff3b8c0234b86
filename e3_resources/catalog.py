"""The catalog resource: engine, sessions and status helpers."""

from __future__ import annotations

from typing import Any

import dagster as dg
import sqlalchemy as sa
from pydantic import Field
from sqlalchemy.orm import Session

from e3.catalog import status
from e3.catalog.db import cached_engine, check_connection
from e3.config import load_settings


class CatalogResource(dg.ConfigurableResource):
    """E3's catalog database (SQLite by default, Postgres via ``E3_DATABASE_URL``)."""

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: E3_DATABASE_URL or the E3_ENV SQLite file."
    )

    def url(self) -> str:
        return self.database_url or load_settings().database_url

    @property
    def engine(self) -> sa.Engine:
        engine = cached_engine(self.url())
        check_connection(engine)
        return engine

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def mark(self, book_id: str, step: str, state: str, *, error: str | None = None, **values: Any) -> None:
        status.mark(self.engine, book_id, step, state, error=error, **values)

    def set_values(self, book_id: str, **values: Any) -> None:
        status.set_values(self.engine, book_id, **values)

    def merge_metadata(self, book_id: str, **entries: Any) -> None:
        status.merge_metadata(self.engine, book_id, **entries)
