"""What every command shares: settings, the database, JSON output, user-facing errors.

rich is loaded by the first use of `console` or `err_console` (the text output), not by a
command that prints JSON: `distribute stats ID --json` starts without it (tests/cli/test_lazy.py)."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterator

import click

from distribute.db import make_engine, make_sessionmaker, schema_is_current, upgrade
from distribute.startup import CONNECT_TIMEOUT, check_database

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from distribute.config import Settings

console: Console
err_console: Console


def __getattr__(name: str) -> Console:
    """`console` (human output, on stdout) and `err_console` (errors, on stderr), made on first use."""
    if name not in ("console", "err_console"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from rich.console import Console

    made = globals()[name] = Console(stderr=name == "err_console", highlight=False, soft_wrap=True)
    return made


@dataclass
class App:
    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)

    @cached_property
    def engine(self) -> Engine:
        if not self.settings.embedded:
            # A shared production database is migrated on purpose, by one `distribute init`. The
            # check's connection is the one the command then uses: one connection, not two.
            engine = make_engine(self.settings.database_url, connect_timeout=CONNECT_TIMEOUT)
            check_database(self.settings, engine=engine)
            return engine
        engine = make_engine(self.settings.database_url)
        if not schema_is_current(engine):
            upgrade(engine)  # the embedded SQLite file is ours: create or upgrade it in place
        return engine

    def check_schema(self) -> None:
        """For a command that forks web workers: the schema checked (created in the embedded
        mode), and no connection left open for the workers to inherit and close under the master."""
        self.engine.dispose()

    def close(self) -> None:
        """At the end of a command: give the database connections back."""
        if "engine" in self.__dict__:
            self.engine.dispose()

    def init_schema(self) -> Engine:
        """Create or upgrade the schema (`distribute init`), then use that engine."""
        if not self.settings.embedded:
            check_database(self.settings, schema=False)  # unreachable: one line, not a traceback
        engine = make_engine(self.settings.database_url)
        upgrade(engine)
        self.__dict__["engine"] = engine
        return engine

    @cached_property
    def sessions(self):
        return make_sessionmaker(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: committed if the block ends normally, rolled back otherwise."""
        with self.sessions() as session, session.begin():
            yield session


pass_app = click.make_pass_decorator(App)

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of text.")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str, indent=2) + "\n")


# A domain error names the field at fault and a code, never a flag: the CLI words its own fix.
# The option that sets each field …
FIELD_FLAGS = {
    "title": "--title", "language": "--language", "slug": "--slug", "format": "--format", "contact": "--contact",
    "targets": "--to", "at": "--at", "variant": "--variant", "test": "--test", "to": "--test",
}
# … and what to type next, per error code (appended).
CODE_HINTS = {
    "already_sent": "pass --again to send a second campaign anyway",
    "already_have": "pass --again to send it to them again",
    "not_ready": "`distribute release check RELEASE --variant VARIANT` lists what is missing",
}


def explain(exc: Exception) -> str:
    """A domain error as the CLI says it: with the option at fault and the command that helps."""
    message = str(exc)
    flag = FIELD_FLAGS.get(getattr(exc, "field", None) or "")
    if flag and flag not in message:
        message = f"{message} ({flag})"
    hint = CODE_HINTS.get(getattr(exc, "code", None))
    return f"{message} ({hint})" if hint else message


def serving_options(port: int):
    """--host, --port, --workers and --threads of a command that serves a web app with gunicorn."""
    options = [
        click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 in a container)."),
        click.option("--port", type=click.IntRange(1, 65535), default=port, show_default=True),
        click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="Processes."),
        click.option("--threads", type=click.IntRange(1, 256), default=8, show_default=True, help="Threads per process."),
    ]

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command
    return decorate
