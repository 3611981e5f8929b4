"""``portvakt serve``: the web server (sign-in pages, self-service, API) under uvicorn."""

from __future__ import annotations

import enum
import os
import shlex
from pathlib import Path
from typing import Annotated

import typer

from portvakt.cli.common import open_runtime
from portvakt.core import users
from portvakt.settings import Settings


class LogLevel(enum.StrEnum):
    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    DEBUG = "debug"


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [default: setting host].")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port to listen on [default: setting port]."),
    ] = None,
    log_level: Annotated[LogLevel, typer.Option(help="uvicorn log level.")] = LogLevel.INFO,
    graceful_timeout: Annotated[
        int, typer.Option(min=0, help="Seconds to let open requests finish on shutdown.")
    ] = 10,
) -> None:
    """Prepare the data folder (keys, migrations) and run the web server."""
    import uvicorn

    from portvakt.web.app import create_app

    with open_runtime() as rt:
        bind_host = host or rt.settings.host
        bind_port = port or rt.settings.port
        typer.echo(f"Portvakt listens on {_url(rt.settings, bind_host, bind_port)}")
        if not users.listing(rt.core, limit=1):
            typer.echo(
                f"No users yet. Create the first one with:\n  {first_user_command(rt.settings)}"
            )
        uvicorn.run(
            create_app(rt),
            host=bind_host,
            port=bind_port,
            proxy_headers=True,
            server_header=False,
            log_level=log_level.value,
            timeout_graceful_shutdown=graceful_timeout,
        )


def first_user_command(settings: Settings, username: str = "alice") -> str:
    """The exact command, with the environment that points it at this data folder."""
    env = []
    config = os.environ.get("PORTVAKT_CONFIG")
    if config:
        env.append(f"PORTVAKT_CONFIG={shlex.quote(str(Path(config).absolute()))}")
    if "PORTVAKT_DATA_DIR" in os.environ:
        env.append(f"PORTVAKT_DATA_DIR={shlex.quote(str(settings.data_dir))}")
    return " ".join([*env, "portvakt", "user", "add", username])


def _url(settings: Settings, host: str, port: int) -> str:
    if settings.public_url:
        return settings.public_url
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"
