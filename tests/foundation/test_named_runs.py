"""Runs started from the e3 command are the named jobs, tagged with what started them."""

import dagster as dg
from click.testing import CliRunner

from e3.cli import main
from e3.demo_book import write_demo_book


def test_produce_runs_as_audiobook_job_with_tags(e3_env):
    src = write_demo_book(e3_env / "src")
    runner = CliRunner()
    assert runner.invoke(main, ["add", str(src), "--book-id", "demo"]).exit_code == 0
    out = runner.invoke(main, ["produce", "demo", "--select", "book_source,parsed_chapters"])
    assert out.exit_code == 0, out.output
    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
    assert run.job_name == "audiobook_job"
    assert run.tags["dagster/partition"] == "demo" and run.tags["e3/started_by"].startswith("e3")
    bad = runner.invoke(main, ["produce", "demo", "--select", "parsed_chapterz"])
    assert bad.exit_code != 0 and "unknown asset 'parsed_chapterz'" in bad.stderr
    assert "Traceback" not in bad.output
