"""Documentation that must not fall behind the code."""

from __future__ import annotations

from pathlib import Path

from portvakt.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs/operators/configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"`{name}`" not in text]
    assert missing == []


def test_readme_states_the_two_setup_commands_that_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci/run").read_text()
    serve = "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/portvakt serve"
    test = (
        "python3 -m venv .venv && .venv/bin/pip install -c constraints.txt -e '.[test]' "
        "&& .venv/bin/pytest"
    )
    assert serve in readme and test in readme
    assert test in ci
