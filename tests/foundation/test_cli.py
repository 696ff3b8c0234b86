"""The e3 command: init, add, status, produce, and one-line errors for bad input."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from e3.cli import main


@pytest.fixture
def run(e3_env):
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def _count_titles(e3_env) -> int:
    engine = sa.create_engine(f"sqlite:///{e3_env / 'catalog.db'}")
    with engine.connect() as conn:
        n = conn.execute(sa.text("select count(*) from titles")).scalar()
    engine.dispose()
    return n


def test_help_everywhere(run):
    result = run("--help")
    assert result.exit_code == 0
    for command in ("init", "add", "produce", "status", "demo"):
        assert command in result.output
        sub = run(command, "--help")
        assert sub.exit_code == 0 and "Usage" in sub.output


def test_init_seeds_the_default_narrator(run, e3_env):
    result = run("init")
    assert result.exit_code == 0, result.output
    engine = sa.create_engine(f"sqlite:///{e3_env / 'catalog.db'}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select narrator_id, voice_model from narrators")).fetchall()
    engine.dispose()
    assert rows == [("narrator_piper_joe", "piper")]
    assert (e3_env / "dagster_home" / "dagster.yaml").is_file()


def _demo_epub(tmp_path):
    from e3.demo_book import write_demo_book

    return write_demo_book(tmp_path / "src")


def test_add_prints_the_book_id_and_registers_the_partition(run, e3_env):
    import dagster as dg

    src = _demo_epub(e3_env)
    result = run("add", str(src))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[0] == "e3-demo"
    with dg.DagsterInstance.get() as instance:
        assert instance.has_dynamic_partition("books", "e3-demo")
    status = json.loads(run("status", "e3-demo", "--json").stdout)
    assert status["title"] == "The Lamplighter of Wren Harbour"
    assert status["parse_novel_status"] == "pending"


@pytest.mark.parametrize("case", ["missing", "unknown-format", "duplicate"])
def test_add_refuses_bad_input_in_one_line_and_changes_nothing(run, e3_env, case):
    src = _demo_epub(e3_env)
    run("add", str(src), "--book-id", "first")
    before = _count_titles(e3_env)
    if case == "missing":
        args = ["add", str(e3_env / "nope.epub")]
        expected = "no such file"
    elif case == "unknown-format":
        bad = e3_env / "song.mp3"
        bad.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 4)
        args = ["add", str(bad)]
        expected = "song.mp3"
    else:
        args = ["add", str(src), "--book-id", "first"]
        expected = "already in the catalog"
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0], result.stderr
    assert "Traceback" not in result.output
    assert _count_titles(e3_env) == before


def test_unreachable_catalog_names_the_url_without_its_password(e3_env, monkeypatch):
    monkeypatch.setenv("E3_DATABASE_URL", "postgresql+psycopg://bob:s3cret@127.0.0.1:1/e3")
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 1
    assert "127.0.0.1:1/e3" in result.stderr and "bob" in result.stderr
    assert "s3cret" not in result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_produce_parses_through_dagster(run, e3_env):
    src = _demo_epub(e3_env)
    run("add", str(src))
    result = run("produce", "e3-demo", "--select", "book_source,parsed_chapters")
    assert result.exit_code == 0, result.output
    status = json.loads(run("status", "e3-demo", "--json").stdout)
    assert status["parse_novel_status"] == "completed"
    assert status["total_chapters"] == 3
    assert (e3_env / "foundry" / "e3-demo" / "audiobook" / "metadata.json").is_file()
