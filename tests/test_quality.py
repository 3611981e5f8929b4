"""The linters are part of the suite, so the README's one test command proves them too:
ruff (lint + format), mypy --strict, the import-layer contracts, and module size budgets."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHECKED = ["src", "tests", "bench", "scripts", "examples"]
MAX_MODULE_LINES = 500
ALLOWLIST = ROOT / "tests" / "size_allowlist.txt"

pytestmark = pytest.mark.lint


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which(args[0], path=str(BIN)) or args[0]
    return subprocess.run(
        [tool, *args[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_ruff_lint_is_clean() -> None:
    result = _run("ruff", "check", *CHECKED)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = _run("ruff", "format", "--check", *CHECKED)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_layers_hold() -> None:
    result = _run("lint-imports")
    assert result.returncode == 0, result.stdout + result.stderr


def test_modules_stay_within_the_size_budget() -> None:
    """STYLE.md habit 9: a module over 500 lines needs a line in tests/size_allowlist.txt."""
    allowed = set()
    if ALLOWLIST.exists():
        allowed = {
            line.split("#")[0].strip()
            for line in ALLOWLIST.read_text().splitlines()
            if line.split("#")[0].strip()
        }
    too_long = [
        str(path.relative_to(ROOT))
        for folder in ("src", "tests")
        for path in (ROOT / folder).rglob("*.py")
        if len(path.read_text().splitlines()) > MAX_MODULE_LINES
        and str(path.relative_to(ROOT)) not in allowed
    ]
    assert too_long == []


def test_installed_packages_match_the_constraints_file() -> None:
    """The suite's verdict must not depend on what pip resolved on the day (issue 9, part 0):
    the README's test command installs under constraints.txt, and a venv that drifted from it
    is named here, instead of surfacing as a puzzling lint or typing failure."""
    from importlib import metadata

    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pinned[_canonical(name)] = version
    drifted = []
    for dist in metadata.distributions():
        name = _canonical(dist.metadata["Name"])
        if name in pinned and pinned[name] != dist.version:
            drifted.append(f"{name} {dist.version} (constraints.txt: {pinned[name]})")
    assert not drifted, "installed without -c constraints.txt? " + ", ".join(sorted(drifted))


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")
