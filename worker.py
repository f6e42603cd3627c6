"""Celery entry point: `celery -A worker worker`. Settings come from DISTRIBUTE_* variables."""

from distribute.celery_app import create_celery
from distribute.config import load_settings

app = create_celery(load_settings())
