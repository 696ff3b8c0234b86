"""Named jobs for launching runs from code (`e3 produce`, `e3 merge`, `e3 video produce`, uploads).

Runs start as one of the named jobs below, never Dagster's hidden ``__ASSET_JOB``, so the UI
lists them under their job with the tags saying who started them. The module-level functions
make each job reconstructable, which the multiprocess executor needs.
"""

from __future__ import annotations

from pathlib import Path

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
    from e3_assets.distributed import execution_config

    job_name = job_for_assets(asset_names)
    run_config = {"loggers": {"console": {"config": {"log_level": log_level.upper()}}}, **execution_config(executor)}
    with dg.execute_job(dg.reconstructable(JOBS[job_name]), instance=instance, run_config=run_config,
                        tags={"dagster/partition": partition, **tags},
                        asset_selection=[dg.AssetKey(n) for n in asset_names], raise_on_error=False) as result:
        return result.success, result.run_id


WORKSPACE_YAML = Path(__file__).resolve().parent.parent / "workspace.yaml"


def submit_partitions(asset_names: list[str], partitions: list[str], *, instance: dg.DagsterInstance,
                      tags: dict[str, str], run_config: dict | None = None) -> list[str]:
    """Queue one run of ``asset_names`` per partition on ``instance``'s run coordinator (the
    QueuedRunCoordinator of E3's dagster.yaml); ``dagster-daemon`` starts them as its limits allow.

    The runs name the code location of ``workspace.yaml`` ("e3"), the one the daemon and the UI
    load, so the daemon can launch them. Returns the run ids in the order of ``partitions``.
    """
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import WorkspaceFileTarget
    from dagster._core.definitions.selector import JobSubsetSelector
    from dagster.version import __version__

    job_name = job_for_assets(asset_names)
    selection = [dg.AssetKey(n) for n in asset_names]
    run_config = run_config or {}
    run_ids = []
    with WorkspaceProcessContext(instance, WorkspaceFileTarget(paths=[str(WORKSPACE_YAML)]),
                                 version=__version__, read_only=False,
                                 code_server_log_level="WARNING") as process_context:
        workspace = process_context.create_request_context()
        location = workspace.get_code_location("e3")
        repo = next(iter(location.get_repositories().values()))
        remote_job = location.get_job(JobSubsetSelector(location_name=location.name, repository_name=repo.name,
                                                        job_name=job_name, op_selection=None,
                                                        asset_selection=selection))
        plan = location.get_execution_plan(remote_job, run_config, step_keys_to_execute=None, known_state=None,
                                           instance=instance).execution_plan_snapshot
        for partition in partitions:
            run = instance.create_run(
                job_name=job_name, run_id=None, run_config=run_config,
                resolved_op_selection=None, step_keys_to_execute=plan.step_keys_to_execute, op_selection=None,
                status=None, root_run_id=None, parent_run_id=None,
                tags={**remote_job.tags, "dagster/partition": partition, **tags},
                job_snapshot=remote_job.job_snapshot, execution_plan_snapshot=plan,
                parent_job_snapshot=remote_job.parent_job_snapshot,
                remote_job_origin=remote_job.get_remote_origin(), job_code_origin=remote_job.get_python_origin(),
                asset_selection=frozenset(selection), asset_check_selection=None, asset_graph=repo.asset_graph)
            run_ids.append(instance.submit_run(run.run_id, workspace).run_id)
    return run_ids
