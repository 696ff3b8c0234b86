"""Helpers for tests that run Dagster assets in-process against an isolated E3."""

from __future__ import annotations

import dagster as dg

from e3.catalog.service import init_catalog, register_title
from e3.config import load_settings


def catalog_engine():
    return init_catalog(load_settings().database_url)


def resources():
    from e3_assets.definitions import defs

    return defs.resources


def register(book_id: str, source: str, **fields) -> None:
    register_title(catalog_engine(), book_id, source_url=source, **fields)


def materialize(instance, book_id: str, assets: list, *, raise_on_error: bool = True,
                partitions: str = "books"):
    if not instance.has_dynamic_partition(partitions, book_id):
        instance.add_dynamic_partitions(partitions, [book_id])
    from e3_assets import definitions

    by_name = {a.key.to_user_string(): a for a in definitions.all_assets}
    selected = [by_name[a] if isinstance(a, str) else a for a in assets]
    return dg.materialize(selected, partition_key=book_id, instance=instance, resources=resources(),
                          raise_on_error=raise_on_error)
