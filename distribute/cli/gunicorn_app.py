"""Serving a Flask app factory with gunicorn (`distribute serve`, `distribute staff`)."""

from __future__ import annotations

import gc
from typing import Callable

from gunicorn.app.base import BaseApplication


class Server(BaseApplication):
    def __init__(self, make_app: Callable[[], object], *, host: str, port: int, workers: int, threads: int):
        self.make_app, self.options = make_app, {
            "bind": f"{host}:{port}", "workers": workers, "threads": threads, "worker_class": "gthread",
            "accesslog": None, "graceful_timeout": 30, "keepalive": 5, "post_worker_init": freeze_startup_heap}
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.make_app()


def freeze_startup_heap(worker) -> None:
    """Once the worker has built its app: what the imports and the app made lives as long as the
    process, and a full collection walked all of it (~140,000 objects, 40-400 ms with every
    request thread stopped) each time the objects a busy worker keeps for a while (the event
    buffer's signals, pooled connections) had piled up enough to call one: the slowest answers
    of the pixel and the redirect. Frozen, a collection walks only what was made since."""
    gc.collect()
    gc.freeze()


def run(make_app: Callable[[], object], *, host: str, port: int, workers: int, threads: int) -> None:
    """Serve until stopped. Each worker process calls `make_app`: its own engine, pool and state."""
    Server(make_app, host=host, port=port, workers=workers, threads=threads).run()
