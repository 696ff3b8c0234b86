"""Merge jobs: folders of audio files into one chaptered m4b (partitioned by ``merges``)."""

import dagster as dg

from e3.errors import E3Error
from e3_assets.common import both, every, human_duration, human_size, log_every, merge_asset
from e3_resources.catalog import CatalogResource
from e3_resources.foundry import FoundryResource


@merge_asset(
    group_name="merges",
    kinds={"ffmpeg", "m4b"},
    pool="ffmpeg",
    description="One chaptered, tagged m4b from a merge job's folders (the merger's `jobs` row): "
                "stream copy when every input is the same AAC, else a parallel encode. "
                "A rerun with unchanged inputs reuses the finished file.",
)
def merged_m4b(context: dg.AssetExecutionContext, catalog: CatalogResource,
               foundry: FoundryResource) -> dg.MaterializeResult:
    from e3.merge.jobs import JobService, execute_job, write_progress

    key = context.partition_key
    service = JobService(catalog.engine, foundry.foundry())
    folder = foundry.foundry().merge_job(key)
    progress = both(every(0.5, lambda done, total: write_progress(folder, done, total)),
                    log_every(context, f"{key}: merged", seconds=10, unit=60, unit_name="minutes"))
    try:
        job = service.job_for_partition(key)
        outcome = execute_job(service, job.id, progress=progress, log=context.log.info)
    except E3Error as exc:  # bad input: the row is failed with the reason; retrying cannot help
        raise dg.Failure(f"{key}: {exc}", allow_retries=False) from exc
    context.log.info(f"{key}: {outcome.info_line()}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(outcome.path),
            "job_id": str(job.id),
            "duration_seconds": round(outcome.duration, 3),
            "duration": human_duration(outcome.duration),
            "chapters": outcome.chapters,
            "files": outcome.files,
            "reencoded": outcome.reencoded,
            "size_bytes": outcome.size_bytes,
            "size": human_size(outcome.size_bytes),
            "reused": outcome.reused,
        },
        data_version=dg.DataVersion(outcome.fingerprint[:16]),
    )
