"""The shipped docker-compose.yml, run as written, as near as this machine allows.

No Docker engine runs here, so the images are not built; instead each service's environment is
taken from `docker-compose config` (the file as Compose reads it, variables interpolated), its
host names pointed at local servers (PostgreSQL, a private redis-server, the test SMTP server),
and the service's own command started with it: the migration, a worker, the scheduler and the
web app, which then send a scheduled release end to end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

from conftest import REPO
from redis_server import RedisServer, free_port

pytestmark = pytest.mark.skipif(shutil.which("docker-compose") is None or shutil.which("redis-server") is None,
                                reason="needs docker-compose (Debian's package) and redis-server")
BIN = Path(sys.executable).parent
SECRET = "compose-test-secret-0123456789abcdefghij"


def compose_services(**variables: str) -> dict:
    """`docker-compose config` of the shipped file, with only these variables in its environment."""
    env = {"PATH": os.environ["PATH"], **variables}
    done = subprocess.run(["docker-compose", "-f", str(REPO / "docker-compose.yml"), "config"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)["services"]


def localise(environment: dict, *, database: str, redis: RedisServer, smtp_url: str) -> dict:
    """The service's environment with its hosts pointed at this machine's servers."""
    env = {k: str(v) for k, v in environment.items()}
    url = make_url(env["DISTRIBUTE_DATABASE_URL"])
    local = make_url(database)
    # The compose file's role does not exist here (trust auth): keep its driver, use ours.
    env["DISTRIBUTE_DATABASE_URL"] = url.set(host=local.host, port=local.port, username=local.username,
                                             password=local.password, database=local.database) \
        .render_as_string(hide_password=False)
    broker = urlsplit(env["DISTRIBUTE_BROKER_URL"])
    env["DISTRIBUTE_BROKER_URL"] = broker._replace(netloc=f"127.0.0.1:{redis.port}").geturl()
    env["DISTRIBUTE_SMTP_URL"] = smtp_url
    return env


class Services:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = (self.tmp / f"{name}.log").open("w")
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def command(argv: list[str]) -> list[str]:
    """The service's command, run from this virtualenv."""
    return [str(BIN / argv[0]), *argv[1:]]


def wait_until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def fresh_database(pg_url):
    """An empty database of its own (the session one already has the schema)."""
    from sqlalchemy import create_engine, text

    url = make_url(pg_url)
    name = f"{url.database}_compose"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_the_compose_file_requires_a_secret():
    done = subprocess.run(["docker-compose", "-f", str(REPO / "docker-compose.yml"), "config"],
                          cwd=REPO, env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "DISTRIBUTE_SECRET_KEY" in done.stderr


def test_every_service_of_the_compose_file_runs_with_its_environment(fresh_database, smtp_server, tmp_path):
    services = compose_services(DISTRIBUTE_SECRET_KEY=SECRET)
    redis = RedisServer()
    redis.start()
    running = Services(tmp_path)
    try:
        env = {name: {**{k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTE_")},
                      **localise(services[name]["environment"], database=fresh_database, redis=redis,
                                 smtp_url=smtp_server.url)}
               for name in ("migrate", "worker", "scheduler", "web", "staff")}
        # Every value the file passes as '' (rates, the bounce mailbox) is among them: "not set".
        assert any(v == "" for v in env["worker"].values())

        migrate = subprocess.run(command(services["migrate"]["command"]), cwd=REPO, env=env["migrate"],
                                 capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        assert "database ready" in migrate.stdout

        running.start("worker", command(services["worker"]["command"]), env["worker"])
        beat = [re.sub(r"^--schedule=.*", f"--schedule={tmp_path / 'beat-schedule'}", a)
                for a in services["scheduler"]["command"]]
        running.start("scheduler", command(beat), env["scheduler"])
        port = free_port()
        web = list(services["web"]["command"])
        web[web.index("--host") + 1], web[web.index("--port") + 1] = "127.0.0.1", str(port)
        running.start("web", command(web), env["web"])
        staff_port = free_port()
        staff = list(services["staff"]["command"])
        staff[staff.index("--host") + 1], staff[staff.index("--port") + 1] = "127.0.0.1", str(staff_port)
        running.start("staff", command(staff), env["staff"])

        wait_until(lambda: "ready." in running.log("worker"), 60, "the worker to be ready")
        wait_until(lambda: "beat: Starting" in running.log("scheduler"), 60, "beat to start")

        def healthy(port):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    return answer.status == 200
            except OSError:
                return False

        wait_until(lambda: healthy(port), 60, "the web app to answer")
        wait_until(lambda: healthy(staff_port), 60, "the staff app to answer")

        # The real job through those processes: a release scheduled a few seconds ahead is
        # started by the scheduler and sent by the worker to the SMTP server.
        def cli(*args):
            done = subprocess.run([str(BIN / "distribute"), *map(str, args)], cwd=tmp_path, env=env["worker"],
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout

        # The staff app: an admin added by the CLI sets a password at the link it prints, on it.
        link = json.loads(cli("users", "add", "admin@example.org", "--role", "admin", "--json"))["password_link"]
        assert link.startswith(env["staff"]["DISTRIBUTE_STAFF_URL"] + "/reset/")
        with urllib.request.urlopen(f"http://127.0.0.1:{staff_port}{urlsplit(link).path}", timeout=5) as answer:
            assert answer.status == 200 and b"admin@example.org" in answer.read()

        cli("contacts", "import", REPO / "samples" / "contacts.csv", "--kind", "journalist")
        cli("segments", "add", "press", "--where", "kind = journalist")
        cli("release", "add", REPO / "samples" / "release.md", "--slug", "clinic-water")
        recipients = json.loads(cli("send", "clinic-water", "--to", "press", "--dry-run", "--json"))["recipients"]
        when = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 3))
        cli("send", "clinic-water", "--to", "press", "--at", when, "--no-wait")
        received = smtp_server.wait_for(recipients, timeout=90)
        assert recipients > 5 and len(received) == recipients
        wait_until(lambda: '"state": "sent"' in cli("campaigns", "show", "1", "--json"), 60, "the campaign to finish")

        # The web app answers the messages' own links: the open pixel of one of them.
        html = received[0].message.get_body(("html",)).get_content()
        pixel = re.search(r'src="https?://[^/"]+(/o/[^"]+\.gif)"', html).group(1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{pixel}", timeout=5) as answer:
            assert answer.headers["Content-Type"] == "image/gif"
        for name in ("worker", "scheduler", "web", "staff"):
            assert running.procs[name].poll() is None, running.log(name)
            assert "Traceback" not in running.log(name), running.log(name)
    finally:
        running.stop()
        redis.stop()


WORKER, BEAT, WEB, STAFF, CLI = "worker", "scheduler", "web", "staff", "cli"


@pytest.mark.parametrize("change, expected, where", [
    ({"DISTRIBUTE_SECRET_KEY": "change-me-in-production"}, "DISTRIBUTE_SECRET_KEY is a placeholder", (WORKER, BEAT, WEB, STAFF, CLI)),
    ({"DISTRIBUTE_SECRET_KEY": ""}, "DISTRIBUTE_SECRET_KEY is required", (WORKER, BEAT, WEB, STAFF, CLI)),
    ({"DISTRIBUTE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none"}, "cannot reach the database",
     (WORKER, BEAT, WEB, STAFF, CLI)),
    ({"DISTRIBUTE_BROKER_URL": ""}, "DISTRIBUTE_BROKER_URL is not set", (WORKER, BEAT)),
    # Settings are read by one function for every entry point: one process shows each format check.
    ({"DISTRIBUTE_RATE_PER_SECOND": "fast"}, "DISTRIBUTE_RATE_PER_SECOND='fast': input should be a valid number", (WORKER,)),
    ({"DISTRIBUTE_SMTP_URL": "mailcatcher:1025"}, "DISTRIBUTE_SMTP_URL: unknown scheme", (BEAT,)),
])
def test_every_entry_point_refuses_a_configuration_that_cannot_work(pg_url, change, expected, where):
    services = compose_services(DISTRIBUTE_SECRET_KEY=SECRET)
    base = {**{k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTE_")},
            **{k: str(v) for k, v in services["worker"]["environment"].items()},
            "DISTRIBUTE_DATABASE_URL": pg_url, "DISTRIBUTE_BROKER_URL": "redis://127.0.0.1:9/0",
            "DISTRIBUTE_SMTP_URL": "smtp://127.0.0.1:9"}
    env = base | change
    commands = {WORKER: services["worker"]["command"], BEAT: services["scheduler"]["command"],
                WEB: services["web"]["command"], STAFF: services["staff"]["command"], CLI: ["distribute", "send", "clinic-water", "--to", "press"]}
    entry_points = [commands[name] for name in where]
    started = time.monotonic()
    procs = [(argv, subprocess.Popen(command(argv), cwd=REPO, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)) for argv in entry_points]
    for argv, proc in procs:
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 1, (argv, output)
        assert expected in output, (argv, output)
        assert "Traceback" not in output and "validation error" not in output, (argv, output)
    assert time.monotonic() - started < 30  # at once, not after retrying for minutes
