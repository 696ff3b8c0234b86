"""`e3 worker celery`: a Dagster celery worker for E3's steps (see README "Past one machine")."""

from __future__ import annotations

import os
import sys

import click

from e3.cli.pictures import worker_group
from e3.errors import E3Error


@worker_group.command("celery")
@click.option("--name", default=None, help="Worker name (default: e3-<pid>); celery appends @<host>.")
@click.option("--concurrency", type=click.IntRange(min=1), default=1, show_default=True,
              help="Steps this worker runs at once. Keep 1 on a host that voices: a TTS step already "
                   "runs a synthesis pool over every core.")
@click.option("--loglevel", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
def worker_celery_command(name: str | None, concurrency: int, loglevel: str) -> None:
    """Run Dagster steps from the celery broker (E3_CELERY_BROKER) until stopped.

    Sets E3_EXECUTOR=celery for itself. Every worker must reach the same catalog
    (E3_DATABASE_URL), the same Dagster instance (DAGSTER_HOME, Postgres storage across hosts)
    and the same foundry (E3_FOUNDRY) as the process that starts the runs.
    """
    from e3.cli.core import _settings
    from e3.dagster_home import ensure_dagster_home

    os.environ["E3_EXECUTOR"] = "celery"
    ensure_dagster_home(_settings())
    from e3_assets.distributed import celery_config

    broker = celery_config()["broker"]
    _check_broker(broker)
    # The solo pool runs each step in the worker process itself: a step's synthesis pool needs a
    # process that may have children, which celery's prefork children may not.
    args = [sys.executable, "-m", "celery", "-A", "e3_assets.celery_app", "worker", "-Q", "dagster",
            "-n", f"{name or f'e3-{os.getpid()}'}@%h", "-l", loglevel.upper(), "--without-gossip",
            "--without-mingle"]
    args += ["--pool", "solo"] if concurrency == 1 else ["--pool", "threads", "--concurrency", str(concurrency)]
    click.echo(f"celery worker on {broker.split('@')[-1]} (DAGSTER_HOME={os.environ['DAGSTER_HOME']})", err=True)
    os.execv(sys.executable, args)


def _check_broker(url: str) -> None:
    """One line when the broker is down, instead of celery retrying forever."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - kombu raises many kinds (OSError, its own, amqp.py)
        raise E3Error(f"celery broker {url.split('@')[-1]} is unreachable: {exc}".splitlines()[0]) from None


def register(group: click.Group) -> None:
    """`e3 worker` is registered by e3.cli.pictures; importing this module adds `celery` to it."""
