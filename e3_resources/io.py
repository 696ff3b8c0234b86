"""The I/O manager for the few values ops hand each other (a batch's chunk file names, counts).

Assets write their files into the foundry and return metadata; graph-backed assets pass small
values between their ops. Those are JSON files (files, not pickles: readable, and safe to load)
under ``<foundry>/.dagster-io``, not ``$DAGSTER_HOME/storage``, so a worker on another host finds
them wherever it finds the foundry.
"""

from __future__ import annotations

import json

import dagster as dg
from pydantic import Field
from upath import UPath

from e3.config import load_settings
from e3.fsutil import atomic_write_json


class JsonFilesIOManager(dg.UPathIOManager):
    """Each op output as one JSON file, written under a temporary name and renamed."""

    extension = ".json"

    def dump_to_path(self, context, obj, path: UPath) -> None:
        atomic_write_json(str(path), obj)

    def load_from_path(self, context, path: UPath):
        return json.loads(path.read_text(encoding="utf-8"))


class FoundryIOManager(dg.ConfigurableIOManagerFactory):
    """JSON files rooted in the foundry (``E3_FOUNDRY``)."""

    base_dir: str | None = Field(default=None, description="Default: <foundry>/.dagster-io from E3 settings.")

    def create_io_manager(self, context) -> JsonFilesIOManager:
        return JsonFilesIOManager(base_path=UPath(self.base_dir or str(load_settings().foundry / ".dagster-io")))
