"""Serving a Flask app factory with gunicorn (`distribute serve`, `distribute staff`)."""

from __future__ import annotations

from typing import Callable

from gunicorn.app.base import BaseApplication


def run(make_app: Callable[[], object], *, host: str, port: int, workers: int, threads: int) -> None:
    """Serve until stopped. Each worker process calls `make_app`: its own engine, pool and state."""

    class _Gunicorn(BaseApplication):
        def load_config(self):
            for key, value in {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
                               "worker_class": "gthread", "accesslog": None, "graceful_timeout": 30,
                               "keepalive": 5}.items():
                self.cfg.set(key, value)

        def load(self):
            return make_app()

    _Gunicorn().run()
