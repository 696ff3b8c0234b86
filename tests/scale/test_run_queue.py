"""The run queue of E3's dagster.yaml holds a backfill of ten books to its configured limits."""

from __future__ import annotations

import os

import dagster as dg
import yaml

from e3.dagster_home import instance_yaml_text

BOOKS = [f"book-{i:02d}" for i in range(10)]


def _limit(config: dict, kind: str) -> int:
    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    return next(item["limit"] for item in limits if item == {**item, "key": "e3/kind", "value": kind})


def test_backfill_of_ten_books_waits_in_the_queue_to_the_book_limit(e3_env):
    from dagster._core.test_utils import create_test_daemon_workspace_context
    from dagster._core.workspace.load_target import WorkspaceFileTarget
    from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

    from e3_assets.launch import WORKSPACE_YAML, submit_partitions

    config = yaml.safe_load(instance_yaml_text("sqlite"))
    book_limit = _limit(config, "audiobook")
    assert 0 < book_limit < len(BOOKS) <= config["concurrency"]["runs"]["max_concurrent_runs"] + len(BOOKS)
    # E3's own instance settings; only the launcher is Dagster's test one, which records a launch
    # and leaves the run STARTING (so it keeps its slot) instead of starting a process.
    config["run_launcher"] = {"module": "dagster._core.test_utils", "class": "MockedRunLauncher"}
    home = os.environ["DAGSTER_HOME"]
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "dagster.yaml"), "w", encoding="utf-8") as fh:
        yaml.safe_dump(config, fh)

    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions("books", BOOKS)
        run_ids = submit_partitions(["book_source", "parsed_chapters"], BOOKS, instance=instance,
                                    tags={"e3/started_by": "test"})
        assert len(set(run_ids)) == len(BOOKS)
        runs = [instance.get_run_by_id(r) for r in run_ids]
        assert {r.status for r in runs} == {dg.DagsterRunStatus.QUEUED}
        assert {r.tags["e3/kind"] for r in runs} == {"audiobook"}
        assert [r.tags["dagster/partition"] for r in runs] == BOOKS
        assert {r.job_name for r in runs} == {"audiobook_job"}

        def statuses():
            return [instance.get_run_by_id(r).status for r in run_ids]

        daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
        with create_test_daemon_workspace_context(WorkspaceFileTarget(paths=[str(WORKSPACE_YAML)]),
                                                  instance) as workspace:
            list(daemon.run_iteration(workspace))
            launched = [s for s in statuses() if s == dg.DagsterRunStatus.STARTING]
            assert len(launched) == book_limit
            assert statuses().count(dg.DagsterRunStatus.QUEUED) == len(BOOKS) - book_limit

            list(daemon.run_iteration(workspace))  # nothing ended: nothing more starts
            assert statuses().count(dg.DagsterRunStatus.STARTING) == book_limit

            first = next(r for r in run_ids if instance.get_run_by_id(r).status == dg.DagsterRunStatus.STARTING)
            instance.report_run_failed(instance.get_run_by_id(first), "ended for the test")
            list(daemon.run_iteration(workspace))  # one slot freed: exactly one more book starts
            assert statuses().count(dg.DagsterRunStatus.STARTING) == book_limit
            assert statuses().count(dg.DagsterRunStatus.QUEUED) == len(BOOKS) - book_limit - 1
