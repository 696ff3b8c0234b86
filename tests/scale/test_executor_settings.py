"""Executor settings and the celery worker command fail in one line on bad input."""

from __future__ import annotations

import os
import subprocess
import sys

from click.testing import CliRunner

from e3.cli import main
from e3.demo_book import write_demo_book
from tests.scale.celery_env import PROJECT


def test_bad_executor_settings_are_one_line(e3_env, monkeypatch):
    runner = CliRunner()
    src = write_demo_book(e3_env / "src")
    assert runner.invoke(main, ["add", str(src), "--book-id", "demo"]).exit_code == 0
    celery_without_setting = runner.invoke(main, ["produce", "demo", "--select", "book_source", "--executor", "celery"])
    assert celery_without_setting.exit_code == 1
    assert "--executor celery needs E3_EXECUTOR=celery" in celery_without_setting.stderr
    monkeypatch.setenv("E3_EXECUTOR", "spark")
    bad = runner.invoke(main, ["produce", "demo", "--select", "book_source"])
    assert bad.exit_code == 1 and "E3_EXECUTOR must be one of in_process, multiprocess, celery" in bad.stderr
    assert "Traceback" not in bad.output


def test_celery_worker_with_its_broker_down_says_so(e3_env):
    env = {k: v for k, v in os.environ.items()}
    env.update(PYTHONPATH=str(PROJECT), E3_CELERY_BROKER="pyamqp://guest@127.0.0.1:1//")
    out = subprocess.run([sys.executable, "-m", "e3.cli", "worker", "celery"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 1
    assert "celery broker 127.0.0.1:1// is unreachable" in out.stderr and "Traceback" not in out.stderr
