"""``portvakt serve``: the web server (sign-in pages, self-service, API) under uvicorn."""

from __future__ import annotations

import enum
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from portvakt.cli.common import open_runtime
from portvakt.cli.i18n import _
from portvakt.core import users
from portvakt.core.oidc import clients
from portvakt.settings import LEGACY_METHOD_SETTINGS, Settings

SERVE_HELP = _("Prepare the data folder (keys, migrations) and run the web server.")


class LogLevel(enum.StrEnum):
    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    DEBUG = "debug"


def serve(
    host: Annotated[
        str | None, typer.Option(help=_("Address to listen on (default: the host setting)."))
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help=_("Port to listen on (default: the port setting).")),
    ] = None,
    log_level: Annotated[LogLevel, typer.Option(help=_("uvicorn log level."))] = LogLevel.INFO,
    graceful_timeout: Annotated[
        int, typer.Option(min=0, help=_("Seconds to let open requests finish on shutdown."))
    ] = 10,
) -> None:
    import uvicorn

    from portvakt.web.app import create_app

    with open_runtime() as rt:
        bind_host = host or rt.settings.host
        bind_port = port or rt.settings.port
        url = _url(rt.settings, bind_host, bind_port)
        typer.echo(_("Portvakt listens on %(url)s") % {"url": url})
        if not users.listing(rt.core, limit=1):
            command = first_user_command(rt.settings)
            typer.echo(
                _("No users yet. Create the first one with:\n  %(command)s") % {"command": command}
            )
        if rt.settings.public_url is None and clients.listing(rt.core):
            typer.echo(
                _(
                    "Note: apps are registered but public_url is not set, so the OpenID Connect "
                    "issuer follows each request's Host header. Set PORTVAKT_PUBLIC_URL (such as "
                    "https://mfa.example.org)."
                ),
                err=True,
            )
        _note_proxies(rt.settings)
        _note_legacy(rt.settings)
        proxies = list(rt.settings.trusted_proxies)
        uvicorn.run(
            create_app(rt),
            host=bind_host,
            port=bind_port,
            proxy_headers=bool(proxies),  # without it uvicorn believes any loopback peer
            forwarded_allow_ips=proxies or None,
            server_header=False,
            log_level=log_level.value,
            timeout_graceful_shutdown=graceful_timeout,
        )


def _note_proxies(settings: Settings) -> None:
    """Say whose forwarded headers count, or warn when an https address is served without a
    trusted proxy (the proxy's X-Forwarded-Proto is then ignored, and forms are refused)."""
    if settings.trusted_proxies:
        typer.echo(
            _("X-Forwarded-For and X-Forwarded-Proto are believed from: %(proxies)s")
            % {"proxies": ", ".join(settings.trusted_proxies)}
        )
    elif (settings.public_url or "").startswith("https://"):
        typer.echo(
            _(
                "Note: public_url is https but no trusted_proxies are set, so headers from a "
                "TLS proxy in front are ignored. Set PORTVAKT_TRUSTED_PROXIES to the proxy's "
                "address (such as 127.0.0.1)."
            ),
            err=True,
        )


def first_user_command(settings: Settings, username: str = "alice") -> str:
    """The exact command, with the environment that points it at this data folder."""
    env = []
    config = os.environ.get("PORTVAKT_CONFIG")
    if config:
        env.append(f"PORTVAKT_CONFIG={shlex.quote(str(Path(config).absolute()))}")
    if "PORTVAKT_DATA_DIR" in os.environ:
        env.append(f"PORTVAKT_DATA_DIR={shlex.quote(str(settings.data_dir))}")
    return " ".join([*env, _program(), "user", "add", username])


def _program() -> str:
    """``portvakt`` when that is what the shell finds, otherwise the path that was run (a
    fresh virtual environment is usually not on PATH: ``.venv/bin/portvakt``)."""
    invoked = Path(sys.argv[0])
    if invoked.name != "portvakt":
        return "portvakt"
    found = shutil.which("portvakt")
    if found is not None and Path(found).resolve() == invoked.resolve():
        return "portvakt"
    try:
        return shlex.quote(str(invoked.resolve().relative_to(Path.cwd())))
    except ValueError:
        return shlex.quote(str(invoked.resolve()))


def _url(settings: Settings, host: str, port: int) -> str:
    if settings.public_url:
        return settings.public_url
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def _note_legacy(settings: Settings) -> None:
    """Each deprecated method setting still in use, with the name that replaces it."""
    for name in settings.legacy_names():
        kind, key = LEGACY_METHOD_SETTINGS[name]
        env = f"PORTVAKT_METHODS__{kind.upper()}__{key.upper()}"
        typer.echo(
            _(
                "Note: the setting %(old)s is deprecated; use %(key)s under [methods.%(kind)s] "
                "in the settings file, or %(env)s."
            )
            % {"old": name, "key": key, "kind": kind, "env": env},
            err=True,
        )
