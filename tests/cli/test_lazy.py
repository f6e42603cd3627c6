"""`distribute --help` answers without loading the commands: the table in cli/__init__.py names
exactly the commands the modules define, each with its own summary, and the help imports none
of the heavy libraries; `distribute stats ID --json` loads only what it uses. (How fast that is,
is measured, not asserted: see the README and bench/bench_stats.py.)"""

from __future__ import annotations

import gc
import importlib
import json
import os
import pkgutil
import subprocess
import sys

import click

import distribute.cli
from distribute.cli import COMMANDS, cli, load_command, summary
from distribute.models import Campaign, Release

# Loaded by none of the paths below: the text output (rich), the settings of what they do not
# use (kombu for the broker, cryptography and dkimpy for DKIM), migrations, the web and rendering.
UNUSED = ("rich", "celery", "kombu", "cryptography", "dkim", "alembic", "flask", "lxml", "premailer", "jinja2")


def _run(args: list[str], *, env: dict | None = None, cwd=None) -> tuple[str, list[str], dict]:
    """(the output, the heavy libraries and distribute modules loaded, the garbage collector's
    state) of `distribute ARGS` in a process of its own: what a user's command loads, not what this
    test session has."""
    code = (f"import gc, sys, json\nfrom distribute.cli import main\ntry:\n    main({args!r})\n"
            "except SystemExit as exit:\n    assert not exit.code, exit.code\n"
            "print(json.dumps([sorted(m for m in sys.modules if m.split('.')[0] in "
            f"{UNUSED + ('sqlalchemy', 'pydantic', 'pydantic_settings')!r} or m.startswith('distribute.')), "
            "{'enabled': gc.isenabled(), 'frozen': gc.get_freeze_count()}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env, cwd=cwd)
    assert done.returncode == 0, done.stderr
    output, _, state = done.stdout.rstrip("\n").rpartition("\n")
    return output, *json.loads(state)


def _defined() -> dict[str, str]:
    """name -> "module:attribute" for every command in a cli module's COMMANDS."""
    found = {}
    for info in pkgutil.iter_modules(distribute.cli.__path__):
        if info.name == "__main__":  # it runs the command as it is imported
            continue
        module = importlib.import_module(f"distribute.cli.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            attribute = next(a for a, v in vars(module).items() if v is command)
            found[command.name] = f"{info.name}:{attribute}"
    return found


def test_the_table_names_every_command_and_only_those():
    assert {name: target for name, (target, _) in COMMANDS.items()} == _defined()


def test_each_summary_is_the_commands_own():
    wrong = {name: load_command(name).get_short_help_str(1000) for name in COMMANDS
             if summary(name, 1000) != load_command(name).get_short_help_str(1000)}
    assert wrong == {}, "the summaries in distribute/cli/__init__.py should be these"


def test_help_imports_no_command_and_no_heavy_library():
    listed, loaded, _ = _run(["--help"])
    assert "staff" in listed and "Serve the staff web app" in listed
    assert loaded == ["distribute.cli", "distribute.errors"]


def test_stats_as_json_loads_neither_the_text_output_nor_unused_settings(db, tmp_path):
    """The path a script polls: rich comes with the text only, kombu and the DKIM signer only with
    their settings set. The console script pauses the cyclic GC while the command loads (tens of
    thousands of objects that live as long as the process, walked over and over otherwise) and
    resumes it, with them frozen, before the command runs."""
    with db.sessions.begin() as s:
        s.add(Release(slug="r", title="T", body="B\n", source_format="markdown", language="en", contacts=[]))
        s.flush()
        s.add(Campaign(ref="c1", release_id=1, variant="journalist", state="sent", audience={"segments": ["x"]}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTE_")} | {
        "DISTRIBUTE_DATABASE_URL": db.url, "DISTRIBUTE_SECRET_KEY": "test-secret-key-for-distribute-tests"}
    output, loaded, collector = _run(["stats", "1", "--json"], env=env, cwd=tmp_path)
    assert json.loads(output)["release"] == "r"
    assert "distribute.stats.campaign" in loaded
    assert [m for m in loaded if m.split(".")[0] in UNUSED] == []
    assert collector["enabled"] and collector["frozen"] > 20_000
    text, loaded, _ = _run(["stats", "1"], env=env, cwd=tmp_path)
    assert "campaign 1 r (journalist): sent" in text and "rich" in loaded


def test_a_caller_of_cli_in_its_own_process_keeps_its_collector(run_cli):
    frozen = gc.get_freeze_count()
    assert run_cli("suppressions", "list", "--json").exit_code == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_a_command_still_runs_and_an_unknown_one_is_refused(run_cli):
    assert "users [OPTIONS] COMMAND [ARGS]" in run_cli("users", "--help").output
    result = click.testing.CliRunner().invoke(cli, ["nonsense"])
    assert result.exit_code == 2 and "No such command 'nonsense'" in result.output
