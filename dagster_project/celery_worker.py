"""The Celery app of the pipeline's workers: `celery -A dagster_project.celery_worker worker`.

The same app as the executor's (`dagster_project.defs.engine`), with the broker and result
backend from `BPO_CELERY_BROKER` / `BPO_CELERY_BACKEND`, so no URL or password is written to a
file (`dagster-celery worker start` writes them into a config module under `DAGSTER_HOME`).
A worker runs each step it takes in a child process (Celery's prefork pool) against the Dagster
instance of its `DAGSTER_HOME`, which must be the one the run was launched on (PostgreSQL).
"""

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from dagster_project.defs.engine import celery_app_args

app = make_app(celery_app_args())
execute_plan = create_task(app)
