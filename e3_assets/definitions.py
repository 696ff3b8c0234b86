"""E3's Dagster definitions: assets, checks, jobs, sensors, schedules and resources.

Load it with ``dagster dev -w workspace.yaml`` or ``dagster asset materialize -m e3_assets.definitions``.
Resources read E3's settings (environment, ``.env``, ``E3_ENV``) when a run starts.

Each domain package (``e3_assets.<domain>``) exposes lists named ``assets``, ``checks``, ``jobs``,
``sensors`` and ``schedules`` (any may be missing), and optionally ``build_sensors(audiobook_job)``
for sensors that start the book job.
"""

from __future__ import annotations

import importlib

import dagster as dg

from e3_assets.books.inbox import build_inbox_sensor
from e3_assets.partitions import books_partitions
from e3_resources.catalog import CatalogResource
from e3_resources.foundry import FoundryResource
from e3_resources.tts import TTSResource

DOMAINS = ("books", "narration", "pictures", "video", "merges")

_modules = []
for _name in DOMAINS:
    try:
        _modules.append(importlib.import_module(f"e3_assets.{_name}"))
    except ModuleNotFoundError as exc:  # a domain not built yet
        if exc.name != f"e3_assets.{_name}":
            raise


def _collect(attribute: str) -> list:
    return [item for module in _modules for item in getattr(module, attribute, [])]


all_assets = _collect("assets")
asset_checks = _collect("checks")
book_assets = [a for a in all_assets if a.partitions_def == books_partitions]

audiobook_job = dg.define_asset_job(
    "audiobook_job",
    selection=dg.AssetSelection.assets(*book_assets),
    description="Everything E3 makes for one book (one partition of `books`).",
)


def audiobook_job_asset_keys() -> list[str]:
    """The book assets in dependency order (what `e3 produce` materializes by default)."""
    return [a.key.to_user_string() for a in book_assets]


def _resources() -> dict:
    resources = {"catalog": CatalogResource(), "foundry": FoundryResource(), "tts": TTSResource()}
    for module in _modules:
        resources.update(getattr(module, "resources", {}))
    return resources


defs = dg.Definitions(
    assets=all_assets,
    asset_checks=asset_checks,
    jobs=[audiobook_job, *_collect("jobs")],
    sensors=[
        build_inbox_sensor(audiobook_job),
        *_collect("sensors"),
        *[s for m in _modules if hasattr(m, "build_sensors") for s in m.build_sensors(audiobook_job)],
    ],
    schedules=_collect("schedules"),
    resources=_resources(),
)
