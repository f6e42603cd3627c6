"""Celery entry point: `celery -A worker worker` and `celery -A worker beat`. Settings come from
DISTRIBUTE_* variables; a configuration that cannot work stops the process at once, saying why."""

from distribute.sending.tasks import create_celery
from distribute.startup import celery_settings_or_exit

app = create_celery(celery_settings_or_exit())
