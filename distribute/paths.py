"""Where the files that ship beside the code are: templates and samples.

In a source checkout they sit at the top of the repository; a built wheel carries them inside
the package (see pyproject.toml), so look there first.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    inside = _PACKAGE / name
    return inside if inside.is_dir() else _PACKAGE.parent / name


TEMPLATES_DIR = _shipped("templates")
SAMPLES_DIR = _shipped("samples")
