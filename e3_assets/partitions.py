"""Dynamic partition sets.

Dagster has no partition mapping between two dynamic partition sets, so a video job reads book
outputs through the catalog, never through a Dagster dependency.
"""

import dagster as dg

books_partitions = dg.DynamicPartitionsDefinition(name="books")
video_jobs_partitions = dg.DynamicPartitionsDefinition(name="video_jobs")
merges_partitions = dg.DynamicPartitionsDefinition(name="merges")
