"""`distribute --help` answers without loading the commands: the table in cli/__init__.py names
exactly the commands the modules define, each with its own summary, and the help imports none
of the heavy libraries. (How fast that is, is measured, not asserted: see the README.)"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

import click

import distribute.cli
from distribute.cli import COMMANDS, cli, load_command, summary


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
    code = ("import sys, json\nfrom distribute.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'celery', 'kombu', 'pydantic', 'pydantic_settings', 'rich', 'flask', 'lxml') "
            "or m.startswith('distribute.'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    listed, loaded = done.stdout.rsplit("\n", 2)[0], json.loads(done.stdout.strip().splitlines()[-1])
    assert "staff" in listed and "Serve the staff web app" in listed
    assert loaded == ["distribute.cli", "distribute.errors"]


def test_a_command_still_runs_and_an_unknown_one_is_refused(run_cli):
    assert "users [OPTIONS] COMMAND [ARGS]" in run_cli("users", "--help").output
    result = click.testing.CliRunner().invoke(cli, ["nonsense"])
    assert result.exit_code == 2 and "No such command 'nonsense'" in result.output
