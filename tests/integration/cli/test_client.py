"""``portvakt client …`` and ``portvakt oidc …`` through Typer's CliRunner on a real data
folder: secrets are printed once and stored only hashed, bad registrations are refused with
a message and exit 2, and the registered app authenticates at the core."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from portvakt.app import Runtime
from portvakt.core.oidc import clients, keys
from portvakt.core.oidc.errors import OAuthError
from portvakt.domain import Door
from tests.integration.cli.conftest import Cli

PORTAL = ("client", "add", "Staff portal", "--redirect-uri", "https://portal.example.org/cb")


def test_add_prints_the_secret_once_and_it_authenticates(cli: Cli, direct: Runtime) -> None:
    created = cli.json(*PORTAL, "--post-logout-redirect-uri", "https://portal.example.org/")
    assert created["name"] == "Staff portal" and not created["public"]
    assert created["redirect_uris"] == ["https://portal.example.org/cb"]
    secret = created["client_secret"]
    ctx = direct.context(Door.OIDC)
    found = clients.authenticate(direct.core, ctx, created["client_id"], secret)
    assert found.name == "Staff portal"
    with pytest.raises(OAuthError):
        clients.authenticate(direct.core, ctx, created["client_id"], secret + "x")
    listed = cli.json("client", "list")
    assert [c["client_id"] for c in listed] == [created["client_id"]]
    assert secret not in json.dumps(listed) and secret not in cli.ok("client", "list").stdout
    shown = cli.json("client", "show", "Staff portal")
    assert shown["client_id"] == created["client_id"] and "client_secret" not in shown
    with direct.core.store.read() as s:
        stored = json.dumps([list(r) for r in s.execute(text("SELECT * FROM oidc_client"))])
        audit = json.dumps([list(r) for r in s.execute(text("SELECT details FROM audit_event"))])
    assert secret not in stored and secret not in audit


def test_public_client_has_no_secret(cli: Cli) -> None:
    created = cli.json(
        "client", "add", "Desktop", "--public", "--redirect-uri", "http://127.0.0.1/cb"
    )
    assert created["public"] and "client_secret" not in created
    refused = cli("client", "rotate-secret", "Desktop", "--yes")
    assert refused.exit_code != 0 and "public app has no secret" in refused.output


def test_rotate_secret_replaces_the_old_one(cli: Cli, direct: Runtime) -> None:
    old = cli.json(*PORTAL)
    new = cli.json("client", "rotate-secret", old["client_id"], "--json")
    assert new["client_secret"] != old["client_secret"]
    ctx = direct.context(Door.OIDC)
    with pytest.raises(OAuthError):
        clients.authenticate(direct.core, ctx, old["client_id"], old["client_secret"])
    assert clients.authenticate(direct.core, ctx, old["client_id"], new["client_secret"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--redirect-uri", "http://portal.example.org/cb"), "must use https"),
        (("--redirect-uri", "https://portal.example.org/cb#x"), "invalid redirect URI"),
        (("--redirect-uri", "https://*.example.org/cb"), "invalid redirect URI"),
        (("--redirect-uri", "javascript:alert(1)"), "invalid redirect URI"),
        ((), "at least one --redirect-uri"),
        (("--redirect-uri", "https://a.example/cb", "--scope", "admin"), "unknown scope"),
        (("--redirect-uri", "https://a.example/cb", "--require", "strong"), "strong"),
    ],
)
def test_bad_registrations_are_refused(cli: Cli, args: tuple[str, ...], message: str) -> None:
    result = cli("client", "add", "Bad app", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert cli.json("client", "list") == []


def test_duplicate_name_and_delete(cli: Cli) -> None:
    cli.json(*PORTAL)
    again = cli(*PORTAL)
    assert again.exit_code == 1 and "already exists" in again.output
    assert "Deleted app Staff portal" in cli.ok("client", "delete", "Staff portal", "--yes").stdout
    missing = cli("client", "show", "Staff portal")
    assert missing.exit_code == 1 and "no such app" in missing.output


def test_rotate_keys_publishes_new_keys(cli: Cli, direct: Runtime) -> None:
    ctx = direct.context(Door.CLI)
    first = {k["kid"] for k in keys.jwks(direct.core, ctx)["keys"]}
    made = cli.ok("oidc", "rotate-keys").stdout.split()
    assert len(made) == 2 and not set(made) & first
    listed = {k["kid"]: k for k in cli.json("oidc", "keys")}
    assert set(listed) == first | set(made)
    assert all(listed[kid]["withdrawn_at"] is not None for kid in first)


def test_allow_without_pkce_is_off_by_default_and_shown(cli: Cli, direct: Runtime) -> None:
    assert cli.json(*PORTAL)["allow_without_pkce"] is False
    moodle = cli.json(
        "client",
        "add",
        "Moodle",
        "--redirect-uri",
        "https://moodle.example.org/auth/oidc/",
        "--allow-without-pkce",
    )
    assert moodle["allow_without_pkce"] is True and not moodle["public"]
    assert cli.json("client", "show", "Moodle")["allow_without_pkce"] is True
    assert "allow_without_pkce: True" in cli.ok("client", "show", "Moodle").stdout
    assert clients.find(direct.core, "Moodle").allow_without_pkce
    assert not clients.find(direct.core, "Staff portal").allow_without_pkce
    with direct.core.store.read() as s:
        details = s.execute(
            text("SELECT details FROM audit_event WHERE event = 'oidc.client_added'")
        ).scalars()
        audited = [json.loads(d) if isinstance(d, str) else d for d in details]
    assert {"client": "Moodle", "public": False, "allow_without_pkce": True} in audited
    assert moodle["client_secret"] not in json.dumps(audited)


def test_a_public_client_cannot_be_allowed_without_pkce(cli: Cli) -> None:
    result = cli(
        "client",
        "add",
        "Desktop",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1/cb",
        "--allow-without-pkce",
    )
    assert result.exit_code == 2, result.output
    assert "public app cannot be allowed to sign in without PKCE" in result.output
    assert cli.json("client", "list") == []
