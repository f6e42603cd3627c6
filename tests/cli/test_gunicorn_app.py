"""How `distribute serve` and `distribute staff` configure gunicorn."""

from __future__ import annotations

import gc

from distribute.cli import gunicorn_app


def test_each_worker_freezes_the_heap_it_built_at_start():
    # What the imports and the app made lives as long as the worker: a full collection must not
    # walk it again with every request thread stopped (the slowest pixels and redirects).
    server = gunicorn_app.Server(lambda: None, host="127.0.0.1", port=8000, workers=1, threads=1)
    assert server.cfg.worker_class_str == "gthread"
    gc.unfreeze()
    try:
        server.cfg.post_worker_init(None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
