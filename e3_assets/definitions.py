"""E3's Dagster definitions: assets, checks, jobs, sensors, schedules and resources.

Load it with ``dagster dev -w workspace.yaml`` or ``dagster asset materialize -m e3_assets.definitions``.
Resources read E3's settings (environment, ``.env``, ``E3_ENV``) when a run starts.
"""

from __future__ import annotations

import dagster as dg

from e3_assets import books, narration
from e3_assets.books.sensors import build_inbox_sensor
from e3_resources.catalog import CatalogResource
from e3_resources.foundry import FoundryResource
from e3_resources.tts import TTSResource

book_assets = [*books.assets, *narration.assets]
asset_checks = [*narration.checks]
all_assets = [*book_assets]

audiobook_job = dg.define_asset_job(
    "audiobook_job",
    selection=dg.AssetSelection.assets(*book_assets),
    description="Everything E3 makes for one book (one partition of `books`).",
)



def audiobook_job_asset_keys() -> list[str]:
    """The book assets in dependency order (what `e3 produce` materializes by default)."""
    return [a.key.to_user_string() for a in book_assets]


defs = dg.Definitions(
    assets=all_assets,
    asset_checks=asset_checks,
    jobs=[audiobook_job],
    sensors=[build_inbox_sensor(audiobook_job)],
    resources={
        "catalog": CatalogResource(),
        "foundry": FoundryResource(),
        "tts": TTSResource(),
    },
)
