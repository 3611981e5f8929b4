"""The ``portvakt`` command driven through Typer's CliRunner against a real data folder.

Each test gets a fresh data folder through ``PORTVAKT_DATA_DIR`` (and nothing else from the
environment), exactly as an operator's shell would provide it; ``direct`` is a runtime on the
same folder for arranging and checking state behind the command's back.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from portvakt.app import Runtime, build
from portvakt.cli.main import app
from portvakt.core import signin
from portvakt.domain import Door
from portvakt.errors import Denied
from portvakt.settings import Settings

PASSWORD = "correct horse battery staple"


class Cli:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(app, list(args), input=input)

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, result.output
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)


@pytest.fixture
def database_url() -> str | None:
    """None: SQLite inside the data folder. Override in a module to use another database."""
    return None


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str | None) -> Path:
    for name in list(os.environ):
        if name.startswith("PORTVAKT_"):
            monkeypatch.delenv(name)
    path = tmp_path / "data"
    monkeypatch.setenv("PORTVAKT_DATA_DIR", str(path))
    if database_url is not None:
        monkeypatch.setenv("PORTVAKT_DATABASE_URL", database_url)
    return path


@pytest.fixture
def cli(data_dir: Path) -> Cli:
    return Cli()


@pytest.fixture
def direct(data_dir: Path) -> Iterator[Runtime]:
    runtime = build(Settings())
    yield runtime
    runtime.core.store.dispose()


@pytest.fixture
def operator_name() -> str:
    return f"cli:{getpass.getuser()}"


def signs_in(runtime: Runtime, username: str, password: str) -> bool:
    """Whether the first sign-in step accepts this password (the real sign-in use-case)."""
    ctx = runtime.context(Door.WEB, ip="192.0.2.1")
    try:
        signin.submit_password(
            runtime.core, ctx, username=username, password=password, device_token=None
        )
    except Denied:
        return False
    return True
