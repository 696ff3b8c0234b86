"""E3: a production line for spoken-word and ambient media.

Plain modules (no Dagster) live here: configuration, the catalog, the foundry,
book parsing, media building blocks. The Dagster graph is in ``e3_assets`` and
the resources in ``e3_resources``.
"""

__version__ = "0.1.0"
