"""``portvakt user …``: add, inspect, change, unlock and remove people (audited as door=cli)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from portvakt.cli.common import (
    JsonOption,
    StdinOption,
    YesOption,
    emit_json,
    iso,
    open_runtime,
    operator,
    read_password,
    table,
)
from portvakt.cli.userimport import import_users
from portvakt.core import enrollment, users
from portvakt.core.base import Core
from portvakt.directory.base import normalise_username
from portvakt.domain import UserRef
from portvakt.errors import Conflict, NotFound

app = typer.Typer(help="Add, inspect, change and import people.", no_args_is_help=True)

Username = Annotated[str, typer.Argument(help="The person's username.", show_default=False)]


@app.command()
def add(
    username: Username,
    display_name: Annotated[str | None, typer.Option(help="Name shown to people.")] = None,
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    password_stdin: StdinOption = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Create the user without a password.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a user; the password is asked for (hidden, twice) unless given on stdin."""
    if password_stdin and no_password:
        raise typer.BadParameter(
            "use either --password-stdin or --no-password", param_hint="--no-password"
        )
    with open_runtime() as rt:
        _ensure_new(rt.core, username)  # before asking for a password that would be wasted
        password = None if no_password else read_password(from_stdin=password_stdin)
        ref = users.add(
            rt.core,
            operator(rt),
            username=username,
            password=password,
            display_name=display_name,
            email=email,
        )
    if as_json:
        emit_json(_user_json(ref))
    else:
        typer.echo(f"Created user {ref.username} (id {ref.id}).")


@app.command("list")
def list_users(
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 1000,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many first.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """List users by username."""
    with open_runtime() as rt:
        found = users.listing(rt.core, limit=limit, offset=offset)
    if as_json:
        emit_json([_user_json(u) for u in found])
        return
    if not found:
        typer.echo("No users. Create one with: portvakt user add USERNAME", err=True)
        return
    rows = [("USERNAME", "DISPLAY NAME", "EMAIL", "STATUS")]
    rows += [
        (u.username, u.display_name, u.email or "-", "disabled" if u.disabled else "active")
        for u in found
    ]
    for line in table(rows):
        typer.echo(line)
    if len(found) == limit:
        typer.echo(f"(the first {limit} from {offset}; see --limit and --offset)", err=True)


@app.command()
def show(username: Username, as_json: JsonOption = False) -> None:
    """Show one user, with the number of methods and the second-factor lockout state."""
    with open_runtime() as rt:
        info = users.details(rt.core, username)
        now = rt.clock.now()
    state = _lockout(info, now)
    if as_json:
        emit_json(
            {
                **_user_json(info.user),
                "has_password": info.has_password,
                "methods": info.methods,
                "lockout": state,
                "factor_failures": info.factor_failures,
                "factor_locked_until": iso(info.factor_locked_until),
                "factor_blocked": info.factor_blocked,
            }
        )
        return
    u = info.user
    second = state if state != "locked" else f"locked until {iso(info.factor_locked_until)}"
    fields = [
        ("username", u.username),
        ("id", str(u.id)),
        ("display name", u.display_name),
        ("email", u.email or "-"),
        ("phone", u.phone or "-"),
        ("status", "disabled" if u.disabled else "active"),
        ("password", "set" if info.has_password else "not set"),
        ("methods", str(info.methods)),
        ("second factor", f"{second} ({info.factor_failures} failures in a row)"),
        ("created", iso(u.created_at) or "-"),
    ]
    for line in table(fields):
        typer.echo(line)


@app.command()
def disable(username: Username) -> None:
    """Disable a user: no sign-in, and every session ends."""
    with open_runtime() as rt:
        users.set_disabled(rt.core, operator(rt), username, disabled=True)
    typer.echo(f"Disabled {username}.")


@app.command()
def enable(username: Username) -> None:
    """Enable a disabled user again."""
    with open_runtime() as rt:
        users.set_disabled(rt.core, operator(rt), username, disabled=False)
    typer.echo(f"Enabled {username}.")


@app.command("set-password")
def set_password(username: Username, password_stdin: StdinOption = False) -> None:
    """Set a new password; every session and remembered device of the person ends."""
    with open_runtime() as rt:
        users.find(rt.core, username)  # NotFound before the prompt, not after it
        password = read_password(from_stdin=password_stdin, prompt="New password")
        users.set_password(rt.core, operator(rt), username, password)
    typer.echo(f"Password of {username} changed.")


@app.command()
def delete(username: Username, yes: YesOption = False) -> None:
    """Delete a user and everything enrolled for them (the audit trail stays)."""
    with open_runtime() as rt:
        ref = users.find(rt.core, username)
        if not yes:
            typer.confirm(f"Delete {ref.username} and all of their methods?", abort=True)
        users.delete(rt.core, operator(rt), username)
    typer.echo(f"Deleted {ref.username}.")


@app.command()
def unlock(username: Username) -> None:
    """Clear a second-factor lockout or block after failed codes."""
    with open_runtime() as rt:
        users.unlock(rt.core, operator(rt), username)
    typer.echo(f"Unlocked the second factor of {username}.")


@app.command("reset-methods")
def reset_methods(username: Username, yes: YesOption = False) -> None:
    """Remove every method (lost phone): the person activates a new one at next sign-in."""
    with open_runtime() as rt:
        ref = users.find(rt.core, username)
        if not yes:
            typer.confirm(f"Remove every method of {ref.username}?", abort=True)
        removed = enrollment.reset_all(rt.core, operator(rt), user_id=ref.id)
    typer.echo(f"Removed {removed} method(s) of {ref.username}; their sessions have ended.")


@app.command()
def audit(
    username: Username,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """Show the audit trail of one user, newest first."""
    with open_runtime() as rt:
        events = users.audit_trail(rt.core, username, limit)
    if as_json:
        emit_json(events)
        return
    keys = ("at", "event", "outcome", "door", "actor", "ip", "method")
    rows = [[k.upper() for k in keys]]
    rows += [[str(e[k] or "-") for k in keys] for e in events]
    for line in table(rows):
        typer.echo(line)


app.command("import")(import_users)


def _ensure_new(core: Core, username: str) -> None:
    normalise_username(username)  # Invalid for a name that can never be created
    try:
        users.find(core, username)
    except NotFound:
        return
    raise Conflict("user_exists")


def _lockout(info: users.UserDetails, now: datetime) -> str:
    if info.factor_blocked:
        return "blocked"
    if info.factor_locked_until is not None and info.factor_locked_until > now:
        return "locked"
    return "open"


def _user_json(u: UserRef) -> dict[str, object]:
    return {
        "id": u.id,
        "username": u.username,
        "display_name": u.display_name,
        "email": u.email,
        "phone": u.phone,
        "disabled": u.disabled,
        "created_at": iso(u.created_at),
    }
