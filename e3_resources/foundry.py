"""The foundry resource: the book-centric file tree with atomic writes."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from e3.config import load_settings
from e3.foundry import BookPaths, Foundry


class FoundryResource(dg.ConfigurableResource):
    """Where artifacts live: ``E3_FOUNDRY``, else ``foundry/<E3_ENV>`` under E3_HOME."""

    root: str | None = Field(default=None, description="Foundry root folder; default from E3 settings.")

    def foundry(self) -> Foundry:
        return Foundry(self.root or load_settings().foundry)

    def book(self, book_id: str) -> BookPaths:
        return self.foundry().book(book_id)
