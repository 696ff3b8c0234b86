"""What a new user meets first: switching Dagster storage, the README's Dagster line, one-line
failures from `e3 produce`, `e3 merge` roots and `e3 add` offline."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from e3.cli import main
from e3.config import load_settings
from e3.dagster_home import PROJECT_ROOT, ensure_dagster_home

VENV_BIN = Path(sys.executable).parent

TINY_BOOK = """Tiny Tale

by Test Writer

CHAPTER I. The Start

The lamp was lit. The harbour was quiet.

CHAPTER II. The End

The boat came home. Everyone slept.
"""


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without the test fixture's E3/Dagster settings (as a user's shell has it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("E3_", "DAGSTER_"))}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def yaml_storage_kind(text: str) -> str:
    import yaml

    return "postgres" if "postgres" in str((yaml.safe_load(text) or {}).get("storage")) else "sqlite"


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    assert "Traceback" not in stderr and "Stack Trace" not in stderr, stderr
    return lines[0]


# --- 1. E3_DAGSTER_STORAGE switches the instance yaml e3 wrote ---------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("written", ["marked", "copied-before-marks"])
def test_switching_storage_rewrites_the_yaml_e3_wrote(e3_env, pg_url, monkeypatch, written):
    import dagster as dg

    home = Path(os.environ["DAGSTER_HOME"])
    if written == "marked":
        ensure_dagster_home(load_settings())
    else:  # what `make demo` left in .dagster_home/alpha before files were marked
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text((PROJECT_ROOT / "dagster.yaml").read_text())
    assert yaml_storage_kind((home / "dagster.yaml").read_text()) == "sqlite"

    monkeypatch.setenv("E3_DAGSTER_STORAGE", "postgres")
    monkeypatch.setenv("E3_DAGSTER_PG_DB", pg_url.rsplit("/", 1)[1])
    ensure_dagster_home(load_settings())
    assert yaml_storage_kind((home / "dagster.yaml").read_text()) == "postgres"
    with dg.DagsterInstance.get() as instance:
        assert "Postgres" in type(instance.run_storage).__name__

    monkeypatch.setenv("E3_DAGSTER_STORAGE", "sqlite")
    ensure_dagster_home(load_settings())
    with dg.DagsterInstance.get() as instance:
        assert "Sqlite" in type(instance.run_storage).__name__


def test_a_users_own_yaml_is_kept_and_a_mismatch_is_one_line(e3_env, monkeypatch):
    home = Path(os.environ["DAGSTER_HOME"])
    ensure_dagster_home(load_settings())
    yaml_path = home / "dagster.yaml"
    edited = yaml_path.read_text().replace("default_limit: 1", "default_limit: 3")
    yaml_path.write_text(edited)
    monkeypatch.setenv("E3_DAGSTER_STORAGE", "postgres")
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 1
    line = _one_error_line(result.stderr)
    assert str(yaml_path) in line and "E3_DAGSTER_STORAGE=postgres" in line and "delete" in line
    assert yaml_path.read_text() == edited
    # Same storage as asked: the user's file stays as it is.
    monkeypatch.setenv("E3_DAGSTER_STORAGE", "sqlite")
    ensure_dagster_home(load_settings())
    assert yaml_path.read_text() == edited


# --- 2. the README's `dagster asset materialize` line works as written -------------------------


def _readme_materialize_line() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text()
    blocks = re.findall(r"^```bash\n(.*?)^```", readme, re.M | re.S)
    lines = [ln.strip() for b in blocks for ln in b.splitlines() if "dagster asset materialize" in ln]
    assert len(lines) == 1, lines
    return lines[0]


def test_readme_dagster_materialize_line_runs(tmp_path):
    line = _readme_materialize_line()
    book = tmp_path / "tiny.txt"
    book.write_text(TINY_BOOK)
    env = _clean_env()  # E3_HOME defaults to the current directory, as in the README
    added = subprocess.run([str(VENV_BIN / "e3"), "add", str(book), "--book-id", "e3-demo"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert added.returncode == 0, added.stderr
    ran = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert ran.returncode == 0, f"{line}\n{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
    assert (tmp_path / "foundry" / "alpha" / "e3-demo" / "audiobook" / "metadata.json").is_file()


# --- 3. a failed `e3 produce` ends in one line; the traces go to the log -----------------------


def test_failed_produce_is_one_line_naming_asset_file_and_cause(tmp_path):
    book = tmp_path / "tiny.txt"
    book.write_text(TINY_BOOK)
    env = _clean_env(E3_HOME=str(tmp_path), E3_DOTENV=str(tmp_path / "no.env"),
                     DAGSTER_HOME=str(tmp_path / "dagster_home"))

    def e3(*args):
        return subprocess.run([sys.executable, "-m", "e3.cli", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=600)

    assert e3("add", str(book), "--book-id", "tiny").returncode == 0
    made = e3("produce", "tiny", "--select", "book_source,parsed_chapters,narration_chunks,audio_chunks")
    assert made.returncode == 0, made.stderr
    chunks = sorted((tmp_path / "foundry" / "alpha" / "tiny" / "audiobook" / "audio_chunks").glob("*.flac"))
    assert len(chunks) >= 2

    chunks[0].unlink()
    failed = e3("produce", "tiny", "--select", "audiobook_m4b")
    assert failed.returncode == 1
    line = _one_error_line(failed.stderr)
    assert "audiobook_m4b" in line and chunks[0].name in line and "missing" in line, line
    log = Path(line.split("details: ", 1)[1].split(",", 1)[0])
    assert log.is_file() and "Stack Trace" in log.read_text()

    e3("produce", "tiny", "--select", "audio_chunks")  # voices the deleted chunk again
    chunks[1].write_bytes(b"not audio at all")
    failed = e3("produce", "tiny", "--select", "audiobook_m4b")
    assert failed.returncode == 1
    line = _one_error_line(failed.stderr)
    assert "audiobook_m4b" in line and chunks[1].name in line and "no audio stream" in line, line


# --- 4. e3 merge names the allowed folders and E3_MERGE_ROOTS ----------------------------------


def test_merge_outside_the_roots_names_them_and_the_setting(e3_env, monkeypatch):
    root, outside = e3_env / "allowed", e3_env / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (outside / "01.mp3").write_bytes(b"ID3")
    monkeypatch.setenv("E3_MERGE_ROOTS", str(root))
    result = CliRunner().invoke(main, ["merge", str(outside), "-o", str(root / "out.m4b"), "--no-progress"])
    assert result.exit_code == 1
    line = _one_error_line(result.stderr)
    assert "outside the allowed folders" in line and str(root.resolve()) in line and "E3_MERGE_ROOTS" in line


# --- 5. e3 add <Gutenberg id> offline ---------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_add_gutenberg_id_offline_names_the_host_and_the_local_file_way(e3_env, monkeypatch):
    monkeypatch.setenv("E3_GUTENBERG_URL", f"http://127.0.0.1:{_closed_port()}")
    result = CliRunner().invoke(main, ["add", "98"])
    assert result.exit_code == 1
    line = _one_error_line(result.stderr)
    assert re.search(r"offline|cannot reach", line) and "127.0.0.1" in line, line
    assert "Gutenberg" in line and "e3 add path/to/book.epub" in line, line
