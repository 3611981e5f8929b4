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
from portvakt.cli.i18n import _, ngettext
from portvakt.cli.passes import TAP_HELP, tap
from portvakt.cli.userimport import IMPORT_HELP, import_users
from portvakt.core import enrollment, users
from portvakt.core.base import Core
from portvakt.directory.base import normalise_username
from portvakt.domain import UserRef
from portvakt.errors import Conflict, NotFound

app = typer.Typer(help=_("Add, inspect, change and import people."), no_args_is_help=True)

Username = Annotated[str, typer.Argument(help=_("The person's username."), show_default=False)]


@app.command(
    help=_("Create a user; the password is asked for (hidden, twice) unless given on stdin.")
)
def add(  # noqa: PLR0913, PLR0917 - one per option
    username: Username,
    display_name: Annotated[str | None, typer.Option(help=_("Name shown to people."))] = None,
    email: Annotated[str | None, typer.Option(help=_("Email address."))] = None,
    phone: Annotated[
        str | None,
        typer.Option(help=_("Mobile number (E.164, such as +4712345678), confirmed on first use.")),
    ] = None,
    password_stdin: StdinOption = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help=_("Create the user without a password."))
    ] = False,
    as_json: JsonOption = False,
) -> None:
    if password_stdin and no_password:
        raise typer.BadParameter(
            _("use either --password-stdin or --no-password"), param_hint="--no-password"
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
            phone=phone,
        )
    if as_json:
        emit_json(_user_json(ref))
    else:
        typer.echo(_("Created user %(name)s (id %(id)s).") % {"name": ref.username, "id": ref.id})


@app.command("list", help=_("List users by username."))
def list_users(
    limit: Annotated[int, typer.Option(min=1, help=_("At most this many."))] = 1000,
    offset: Annotated[int, typer.Option(min=0, help=_("Skip this many first."))] = 0,
    as_json: JsonOption = False,
) -> None:
    with open_runtime() as rt:
        found = users.listing(rt.core, limit=limit, offset=offset)
    if as_json:
        emit_json([_user_json(u) for u in found])
        return
    if not found:
        typer.echo(_("No users. Create one with: portvakt user add USERNAME"), err=True)
        return
    # A table for grep and awk: column names and status words stay as they are in every language.
    rows = [("USERNAME", "DISPLAY NAME", "EMAIL", "STATUS")]
    rows += [
        (u.username, u.display_name, u.email or "-", "disabled" if u.disabled else "active")
        for u in found
    ]
    for line in table(rows):
        typer.echo(line)
    if len(found) == limit:
        typer.echo(
            _("(the first %(limit)s from %(offset)s; see --limit and --offset)")
            % {"limit": limit, "offset": offset},
            err=True,
        )


@app.command(
    help=_("Show one user, with the number of methods and the second-factor lockout state.")
)
def show(username: Username, as_json: JsonOption = False) -> None:
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
    failures = info.factor_failures
    second = ngettext(
        "%(state)s (%(num)s failure in a row)", "%(state)s (%(num)s failures in a row)", failures
    ) % {"state": _lockout_text(state, info), "num": failures}
    fields = [
        (_("username"), u.username),
        ("id", str(u.id)),
        (_("display name"), u.display_name),
        (_("email"), u.email or "-"),
        (_("phone"), u.phone or "-"),
        (_("status"), _status(u)),
        (_("password"), _("set") if info.has_password else _("not set")),
        (_("methods"), str(info.methods)),
        (_("second factor"), second),
        (_("created"), iso(u.created_at) or "-"),
    ]
    for line in table(fields):
        typer.echo(line)


@app.command(help=_("Disable a user: no sign-in, and every session ends."))
def disable(username: Username) -> None:
    with open_runtime() as rt:
        users.set_disabled(rt.core, operator(rt), username, disabled=True)
    typer.echo(_("Disabled %(name)s.") % {"name": username})


@app.command(help=_("Enable a disabled user again."))
def enable(username: Username) -> None:
    with open_runtime() as rt:
        users.set_disabled(rt.core, operator(rt), username, disabled=False)
    typer.echo(_("Enabled %(name)s.") % {"name": username})


@app.command(
    "set-password",
    help=_("Set a new password; every session and remembered device of the person ends."),
)
def set_password(username: Username, password_stdin: StdinOption = False) -> None:
    with open_runtime() as rt:
        users.find(rt.core, username)  # NotFound before the prompt, not after it
        password = read_password(from_stdin=password_stdin, prompt=_("New password"))
        users.set_password(rt.core, operator(rt), username, password)
    typer.echo(_("Password of %(name)s changed.") % {"name": username})


@app.command(help=_("Delete a user and everything enrolled for them (the audit trail stays)."))
def delete(username: Username, yes: YesOption = False) -> None:
    with open_runtime() as rt:
        ref = users.find(rt.core, username)
        if not yes:
            question = _("Delete %(name)s and all of their methods?") % {"name": ref.username}
            typer.confirm(question, abort=True)
        users.delete(rt.core, operator(rt), username)
    typer.echo(_("Deleted %(name)s.") % {"name": ref.username})


@app.command(help=_("Clear a second-factor lockout or block after failed codes."))
def unlock(username: Username) -> None:
    with open_runtime() as rt:
        users.unlock(rt.core, operator(rt), username)
    typer.echo(_("Unlocked the second factor of %(name)s.") % {"name": username})


@app.command(
    "reset-methods",
    help=_("Remove every method (lost phone): the person activates a new one at next sign-in."),
)
def reset_methods(username: Username, yes: YesOption = False) -> None:
    with open_runtime() as rt:
        ref = users.find(rt.core, username)
        if not yes:
            typer.confirm(
                _("Remove every method of %(name)s?") % {"name": ref.username}, abort=True
            )
        removed = enrollment.reset_all(rt.core, operator(rt), user_id=ref.id)
    typer.echo(
        _("Removed %(num)s method(s) of %(name)s; their sessions have ended.")
        % {"num": removed, "name": ref.username}
    )


@app.command(help=_("Show the audit trail of one user, newest first."))
def audit(
    username: Username,
    limit: Annotated[int, typer.Option(min=1, help=_("At most this many, newest first."))] = 100,
    as_json: JsonOption = False,
) -> None:
    with open_runtime() as rt:
        events = users.audit_trail(rt.core, username, limit)
    if as_json:
        emit_json(events)
        return
    keys = ("at", "event", "outcome", "door", "actor", "ip", "method")  # machine names: as is
    rows = [[k.upper() for k in keys]]
    rows += [[str(e[k] or "-") for k in keys] for e in events]
    for line in table(rows):
        typer.echo(line)


app.command("import", help=IMPORT_HELP)(import_users)
app.command(help=TAP_HELP)(tap)  # ``portvakt user tap``, named by the function


def _ensure_new(core: Core, username: str) -> None:
    normalise_username(username)  # Invalid for a name that can never be created
    try:
        users.find(core, username)
    except NotFound:
        return
    raise Conflict("user_exists")


def _status(u: UserRef) -> str:
    return _("disabled") if u.disabled else _("active")


def _lockout_text(state: str, info: users.UserDetails) -> str:
    if state == "locked":
        return _("locked until %(time)s") % {"time": iso(info.factor_locked_until)}
    return _("blocked") if state == "blocked" else _("open")


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
