"""Named jobs for launching runs from code (`e3 produce`, `e3 merge`, `e3 video produce`, uploads).

Runs start as one of the named jobs below, never Dagster's hidden ``__ASSET_JOB``, so the UI
lists them under their job with the tags saying who started them. The module-level functions
make each job reconstructable, which the multiprocess executor needs.
"""

from __future__ import annotations

import dagster as dg

JOB_OF_PARTITIONS = {"books": "audiobook_job", "merges": "merge_job", "video_jobs": "channel_video_job"}


def _job(name: str) -> dg.JobDefinition:
    from e3_assets.definitions import defs

    return defs.resolve_job_def(name)


def audiobook_job() -> dg.JobDefinition:
    return _job("audiobook_job")


def merge_job() -> dg.JobDefinition:
    return _job("merge_job")


def channel_video_job() -> dg.JobDefinition:
    return _job("channel_video_job")


JOBS = {"audiobook_job": audiobook_job, "merge_job": merge_job, "channel_video_job": channel_video_job}


def job_for_assets(asset_names: list[str]) -> str:
    """The named job whose selection holds every asset in ``asset_names``; raises ValueError
    naming an unknown asset, or assets that no single job holds."""
    from e3_assets.definitions import defs

    known = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    for name in asset_names:
        if name not in known:
            raise ValueError(f"unknown asset {name!r}; E3's assets are: {', '.join(sorted(known))}")
    wanted = {dg.AssetKey(n) for n in asset_names}
    for job_name in JOBS:
        if wanted <= set(_job(job_name).asset_layer.executable_asset_keys):
            return job_name
    raise ValueError(f"no one job holds {', '.join(asset_names)}; select assets of one kind of partition")


def run_partition(asset_names: list[str], partition: str, *, instance: dg.DagsterInstance, tags: dict[str, str],
                  log_level: str = "WARNING", executor: str = "in_process") -> tuple[bool, str]:
    """Run ``asset_names`` for ``partition`` as their named job, tagged, on ``executor``;
    returns (success, run id)."""
    job_name = job_for_assets(asset_names)
    run_config = {"loggers": {"console": {"config": {"log_level": log_level.upper()}}},
                  "execution": {"config": {executor: {}}}}
    with dg.execute_job(dg.reconstructable(JOBS[job_name]), instance=instance, run_config=run_config,
                        tags={"dagster/partition": partition, **tags},
                        asset_selection=[dg.AssetKey(n) for n in asset_names], raise_on_error=False) as result:
        return result.success, result.run_id
