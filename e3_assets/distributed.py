"""Which Dagster executor E3's jobs run on: the default one, or Dagster's celery executor.

``E3_EXECUTOR=celery`` (read when the definitions load, in the process that starts a run AND in
every worker: all must agree) makes every job's executor ``dagster_celery``'s, with the broker
``E3_CELERY_BROKER`` (default: the RabbitMQ on 127.0.0.1:5672) and result backend
``E3_CELERY_BACKEND`` (default ``rpc://``, replies over the same broker). Steps then run in
``e3 worker celery`` processes on any host that shares the catalog, the Dagster instance and the
foundry. Anything else keeps Dagster's default (multiprocess, or in_process per run config).
"""

from __future__ import annotations

import dagster as dg

from e3.config import settings
from e3.errors import ConfigError


# A step's message is acknowledged when the step ends, not when a worker takes it: a worker killed
# mid-step (its connection drops) hands the step back to the broker, which gives it to another.
CELERY_SETTINGS = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
    "broker_connection_retry_on_startup": True,
}


def executor_kind() -> str:
    return settings().executor


def celery_config() -> dict:
    """The celery executor's config (the same block `dagster-celery worker start -y` reads)."""
    chosen = settings()
    return {"broker": chosen.celery_broker, "backend": chosen.celery_backend,
            "config_source": dict(CELERY_SETTINGS)}


def job_executor() -> dg.ExecutorDefinition:
    """The executor every E3 job gets (``Definitions(executor=...)``)."""
    if executor_kind() == "celery":
        import warnings

        from dagster_celery import celery_executor

        # dagster-celery registers its task anew for every step it submits; celery warns each time.
        warnings.filterwarnings("ignore", message="Task name 'execute_plan' is already registered")
        return celery_executor.configured(celery_config(), name="celery")
    return dg.multi_or_in_process_executor


def execution_config(kind: str) -> dict:
    """The run config's ``execution`` block for ``kind``: empty for celery (configured above)."""
    if kind == "celery":
        if executor_kind() != "celery":
            raise ConfigError("--executor celery needs E3_EXECUTOR=celery (workers must load the same executor)")
        return {}
    if executor_kind() == "celery":
        raise ConfigError(f"E3_EXECUTOR=celery: runs go to the celery workers, not {kind}; unset E3_EXECUTOR")
    return {"execution": {"config": {kind: {}}}}
