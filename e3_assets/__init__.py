"""E3's Dagster asset graph, grouped by domain; ``e3_assets.definitions`` assembles it."""
