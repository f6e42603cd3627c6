"""Checks on the material in ../shared/fixtures, run when that folder is beside the project (as
in CI); a fresh clone on its own skips them. The project's own tests use tests/data."""

import json

import pytest

from conftest import FIXTURES

ALEPPO = FIXTURES / "press-release-aleppo.txt"

pytestmark = pytest.mark.skipif(not ALEPPO.exists(), reason="../shared/fixtures is not beside the project")


def test_the_real_pasted_release_reads_as_written(run_cli, db):
    result = run_cli("release", "add", ALEPPO, "--title", "SETF office in Aleppo destroyed", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["dateline"] == "Washington, DC"
    body = json.loads(run_cli("release", "show", "1", "--json").output)["body"]
    paragraphs = body.strip().split("\n\n")
    assert len(paragraphs) == 6 and paragraphs[0].startswith("On Tuesday, the Syrian Emergency Task Force")
    assert "“We did everything we can do for our people, so please forgive us if you don’t hear back.”" in body
