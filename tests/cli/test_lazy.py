"""The command starts fast: each command's module is imported when that command runs, and
`distribute --help` lists the commands from a table that must match the commands themselves."""

from __future__ import annotations

import importlib
import subprocess
import sys

from distribute.cli import COMMANDS, cli


def test_the_table_names_every_command_with_its_own_help():
    import pkgutil

    import distribute.cli

    modules = {m.name for m in pkgutil.iter_modules(distribute.cli.__path__)} - {"__main__"}
    found = {}
    for module in modules:
        if not hasattr(module_ := importlib.import_module(f"distribute.cli.{module}"), "COMMANDS"):
            continue
        for command in module_.COMMANDS:
            found[command.name] = (module, command.get_short_help_str(limit=1000))
    assert found == COMMANDS


def test_help_and_stats_do_not_load_the_pipeline():
    code = ("import sys; from click.testing import CliRunner; from distribute.cli import cli; "
            "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0, r.output; "
            "cli.get_command(None, 'stats'); import distribute.stats.campaign; "
            "print(sorted(m for m in sys.modules if m.startswith(('distribute.sending', 'distribute.releases', "
            "'distribute.transport', 'celery', 'premailer', 'lxml'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
