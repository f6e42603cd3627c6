"""The Celery app: what a starting worker loads before its first task."""

from __future__ import annotations

import json
import subprocess
import sys

PIPELINE = ["distribute.sending.fanout", "distribute.sending.sender", "distribute.transport.smtp", "premailer"]


def test_a_starting_worker_loads_the_pipeline_before_its_first_task():
    """The first campaign after a worker starts must not wait for imports (about a second here):
    the worker loads them when it starts (celery's worker_init), the app alone does not."""
    code = ("import json, sys\nfrom celery import signals\nfrom distribute.config import Settings\n"
            "from distribute.sending.tasks import create_celery\n"
            "create_celery(Settings(secret_key='k' * 32, base_url='https://press.example.org'))\n"
            f"before = [m in sys.modules for m in {PIPELINE!r}]\n"
            "signals.worker_init.send(sender=None)\n"
            f"print(json.dumps([before, [m in sys.modules for m in {PIPELINE!r}]]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    before, after = json.loads(done.stdout)
    assert not any(before) and all(after)
