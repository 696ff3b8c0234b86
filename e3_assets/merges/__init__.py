"""Merges: seed 003's MP3-to-m4b merger inside E3.

Merge jobs are their own dynamic partition set, ``merges`` (key ``mj-`` and the first 12 hex
digits of the ``jobs`` row's id), not book partitions. A merge has no book text, no parse status,
no narrator and no chunk plan: its input is a list of audio folders and its one output is an m4b.
Making it a book would mean a ``titles`` row and an ``audiobook_production`` row whose steps
(parse_novel, audio_generation, ...) it never runs, and the book job would try to parse, voice
and illustrate it. As its own partition set it has exactly one asset, ``merged_m4b``, its status
lives where the merger's seed keeps it (``jobs.status``/``log``), and its options in
``<foundry>/_merges/<key>/options.json``.

Uploads, on the other hand, *are* books (``e3_assets.uploads``).
"""

import dagster as dg

from e3_assets.merges.assets import merged_m4b

assets = [merged_m4b]

merge_job = dg.define_asset_job(
    "merge_job",
    selection=dg.AssetSelection.assets(merged_m4b),
    description="Merge one job's audio folders into a chaptered m4b (one partition of `merges`).",
    tags={"e3/kind": "merge"},  # the run queue limits merge runs by this tag (dagster.yaml)
)
jobs = [merge_job]
