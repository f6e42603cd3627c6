"""The import contracts of pyproject.toml ([tool.importlinter]) hold, and an import that breaks
one fails them: lint-imports on a copy of the package, with one forbidden import added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
LAYERS = "Interfaces over the pipeline over the ground floor"
PURE_PARSERS = "Bounce and webhook parsers import no database code"
NO_CYCLES = "No import cycles between sibling modules and packages"


def lint(root: Path) -> subprocess.CompletedProcess:
    # PYTHONPATH first: the copy, not the installed package, is the one analysed.
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(REPO / "pyproject.toml")], cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True, timeout=300)


@pytest.fixture
def package(tmp_path) -> Path:
    shutil.copytree(REPO / "distribute", tmp_path / "distribute", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_package_keeps_its_contracts(package):
    result = lint(package)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, line, contract", [
    ("feedback/webhooks/events.py", "import distribute.models", PURE_PARSERS),
    ("feedback/bounces/report.py", "from sqlalchemy import select", PURE_PARSERS),
    ("releases/store.py", "from distribute.sending import campaigns", LAYERS),  # a lower layer reaching up
    ("models.py", "import distribute.cli.common", LAYERS),
    ("web/public/pages.py", "import distribute.cli.releases", LAYERS),  # one interface importing another
    ("audience/rule_sql.py", "from distribute.audience import rules", NO_CYCLES),  # rules imports rule_sql
])
def test_a_forbidden_import_breaks_a_contract(package, module, line, contract):
    path = package / "distribute" / module
    path.write_text(path.read_text() + f"\n{line}  # added by the test\n")
    result = lint(package)
    assert result.returncode != 0
    assert f"{contract} BROKEN" in result.stdout, result.stdout
