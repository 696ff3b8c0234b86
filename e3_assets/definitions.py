"""E3's Dagster definitions: assets, checks, jobs, sensors, schedules and resources.

Load it with ``dagster dev -w workspace.yaml`` or ``dagster asset materialize -m e3_assets.definitions``.
Resources read E3's settings (environment, ``.env``, ``E3_ENV``) when a run starts.

Each domain package (``e3_assets.<domain>``) lists its ``assets`` and, where it has them,
``checks``, ``jobs``, ``sensors``, ``schedules`` and ``build_sensors(audiobook_job)`` (sensors
that start the book job); each becomes one ``dg.Definitions``, and ``defs`` merges them with the
book job and the one set of resources (``e3_resources.all_resources``).
"""

from __future__ import annotations

from types import ModuleType

import dagster as dg

from e3.catalog.status import ASSET_STEPS
from e3_assets import books, merges, narration, pictures, studio, uploads, video
from e3_assets.books.inbox import build_inbox_sensor
from e3_assets.distributed import job_executor
from e3_assets.partitions import books_partitions
from e3_resources import all_resources

DOMAINS: tuple[ModuleType, ...] = (books, narration, pictures, video, studio, merges, uploads)

audiobook_job = dg.define_asset_job(
    "audiobook_job",
    selection=dg.AssetSelection.assets(*ASSET_STEPS),
    description="Everything E3 makes for one book (one partition of `books`).",
    tags={"e3/kind": "audiobook"},  # the run queue limits book runs by this tag (dagster.yaml)
)


def domain_definitions(module: ModuleType) -> dg.Definitions:
    """One domain's assets, checks, jobs, sensors and schedules."""
    return dg.Definitions(
        assets=module.assets,
        asset_checks=getattr(module, "checks", []),
        jobs=getattr(module, "jobs", []),
        sensors=[*getattr(module, "sensors", []), *getattr(module, "build_sensors", lambda _job: [])(audiobook_job)],
        schedules=getattr(module, "schedules", []),
    )


all_assets = [a for module in DOMAINS for a in module.assets]
asset_checks = [c for module in DOMAINS for c in getattr(module, "checks", [])]
book_assets = [a for a in all_assets if a.partitions_def == books_partitions]


def audiobook_job_asset_keys() -> list[str]:
    """The book assets in dependency order (what `e3 produce` materializes by default)."""
    return [a.key.to_user_string() for a in book_assets]


defs = dg.Definitions.merge(
    *(domain_definitions(m) for m in DOMAINS),
    dg.Definitions(jobs=[audiobook_job], sensors=[build_inbox_sensor(audiobook_job)], resources=all_resources(),
                   executor=job_executor()),
)
