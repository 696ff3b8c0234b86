"""The I/O manager for the few values ops hand each other (a batch's chunk indices, counts).

Assets write their files into the foundry and return metadata; graph-backed assets pass small
values between their ops. Those are pickled under ``<foundry>/.dagster-io`` rather than
``$DAGSTER_HOME/storage``, so a worker on another host finds them wherever it finds the foundry.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.storage.fs_io_manager import PickledObjectFilesystemIOManager
from pydantic import Field

from e3.config import load_settings


class FoundryIOManager(dg.ConfigurableIOManagerFactory):
    """Dagster's filesystem I/O manager rooted in the foundry (``E3_FOUNDRY``)."""

    base_dir: str | None = Field(default=None, description="Default: <foundry>/.dagster-io from E3 settings.")

    def create_io_manager(self, context) -> PickledObjectFilesystemIOManager:
        return PickledObjectFilesystemIOManager(base_dir=self.base_dir or str(load_settings().foundry / ".dagster-io"))
