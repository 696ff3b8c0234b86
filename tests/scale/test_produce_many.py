"""`e3 produce` takes several books, or --all-pending; --queue leaves them in the run queue."""

from __future__ import annotations

import dagster as dg
from click.testing import CliRunner

from e3.cli import main
from e3.demo_book import write_demo_book


def _add(runner, e3_env, *ids):
    src = write_demo_book(e3_env / "src")
    for book_id in ids:
        out = runner.invoke(main, ["add", str(src), "--book-id", book_id])
        assert out.exit_code == 0, out.output


def test_several_books_run_one_after_the_other_and_all_pending_queues(e3_env):
    runner = CliRunner()
    _add(runner, e3_env, "one", "two", "three")
    out = runner.invoke(main, ["produce", "one", "two", "--select", "book_source,parsed_chapters"])
    assert out.exit_code == 0, out.output
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert sorted(r.tags["dagster/partition"] for r in runs) == ["one", "two"]
        assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
        assert {r.tags["e3/kind"] for r in runs} == {"audiobook"}

    out = runner.invoke(main, ["produce", "--all-pending", "--queue", "--select", "book_source"])
    assert out.exit_code == 0, out.output
    assert [line.split(":")[0] for line in out.stdout.splitlines()] == ["one", "two", "three"]
    with dg.DagsterInstance.get() as instance:
        queued = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED]))
        assert sorted(r.tags["dagster/partition"] for r in queued) == ["one", "three", "two"]
        assert {r.job_name for r in queued} == {"audiobook_job"}


def test_bad_book_lists_are_one_line(e3_env):
    runner = CliRunner()
    _add(runner, e3_env, "one")
    none = runner.invoke(main, ["produce"])
    assert none.exit_code == 1 and "name at least one book id, or pass --all-pending" in none.stderr
    unknown = runner.invoke(main, ["produce", "one", "nope"])
    assert unknown.exit_code == 1 and "book 'nope' is not in the catalog" in unknown.stderr
    assert "Traceback" not in unknown.output
