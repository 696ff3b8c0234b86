"""The Celery app ``e3 worker celery`` runs (``celery -A e3_assets.celery_app worker``).

dagster-celery's own tasks (one Dagster step per task), on E3's broker and settings
(``e3_assets.distributed``), so a worker needs no generated config module.
"""

from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task, create_task

from e3_assets.distributed import celery_config

app = make_app(CeleryExecutor.for_cli(**celery_config()).app_args())

execute_plan = create_task(app)
execute_job = create_execute_job_task(app)
resume_job = create_resume_job_task(app)
