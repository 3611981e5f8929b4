"""``portvakt integration add|list|show|set|delete`` through Typer's CliRunner on a real data
folder, on SQLite and PostgreSQL; the key works against the core and is never stored in
plaintext; trusting client_ip is off unless asked for, shown everywhere, and audited."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from portvakt.app import Runtime, build
from portvakt.core import integrations
from portvakt.domain import Door
from portvakt.settings import Settings
from portvakt.store.models import AuditEvent
from tests.integration.cli.conftest import Cli


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> Cli:
    for name in list(os.environ):
        if name.startswith("PORTVAKT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PORTVAKT_DATA_DIR", str(tmp_path / "cli-data"))
    monkeypatch.setenv("PORTVAKT_DATABASE_URL", db_url)
    monkeypatch.setenv("PORTVAKT_LANGUAGE", "en")
    return Cli()


@pytest.fixture
def direct(cli: Cli) -> Iterator[Runtime]:
    runtime = build(Settings())
    yield runtime
    runtime.core.store.dispose()


def test_add_prints_the_key_once_and_it_works(cli: Cli, direct: Runtime) -> None:
    created = cli.json("integration", "add", "vpn")
    assert set(created) == {"api_key", "name", "id", "trust_client_ip"}
    assert created["name"] == "vpn" and created["trust_client_ip"] is False
    key = created["api_key"]
    assert key.startswith("pvk_") and len(key) >= 47
    found = integrations.authenticate(direct.core, direct.context(Door.API), f"Bearer {key}")
    assert found is not None and found.name == "vpn" and found.id == created["id"]
    text_out = cli.ok("integration", "add", "radius")
    assert "Created integration radius" in text_out.stdout
    assert "pvk_" in text_out.stdout
    listed = cli.json("integration", "list")
    assert [i["name"] for i in listed] == ["radius", "vpn"]
    assert "pvk_" not in json.dumps(listed)
    table = cli.ok("integration", "list").stdout
    assert "NAME" in table and "vpn" in table and "pvk_" not in table


def test_the_database_holds_no_plaintext_key(cli: Cli, direct: Runtime) -> None:
    key = cli.json("integration", "add", "vpn")["api_key"]
    with direct.core.store.read() as s:
        rows = s.execute(text("SELECT * FROM integration")).all()
        audit = s.execute(text("SELECT details FROM audit_event")).all()
    dump = repr(rows) + repr(audit)
    assert key not in dump and key[4:] not in dump and key[4:20] not in dump


def test_duplicate_and_invalid_names_are_refused(cli: Cli) -> None:
    cli.ok("integration", "add", "vpn")
    again = cli("integration", "add", "vpn")
    assert again.exit_code == 1 and "already exists" in again.output
    bad = cli("integration", "add", "no spaces")
    assert bad.exit_code == 2 and "invalid integration name" in bad.output


def test_delete_asks_then_the_key_stops_working(cli: Cli, direct: Runtime) -> None:
    key = cli.json("integration", "add", "vpn")["api_key"]
    kept = cli("integration", "delete", "vpn", input="n\n")
    assert kept.exit_code != 0
    assert [i["name"] for i in cli.json("integration", "list")] == ["vpn"]
    done = cli.ok("integration", "delete", "vpn", "--yes")
    assert "Deleted integration vpn" in done.stdout
    assert cli.json("integration", "list") == []
    ctx = direct.context(Door.API)
    assert integrations.authenticate(direct.core, ctx, f"Bearer {key}") is None
    missing = cli("integration", "delete", "vpn", "--yes")
    assert missing.exit_code == 1 and "no such integration" in missing.output


def test_empty_list_says_how_to_add(cli: Cli) -> None:
    result = cli.ok("integration", "list")
    assert "portvakt integration add" in result.output


def test_trust_client_ip_is_set_at_add_shown_and_changed_with_an_audit_row(
    cli: Cli, direct: Runtime
) -> None:
    cli.ok("integration", "add", "radius")
    created = cli.json("integration", "add", "vpn", "--trust-client-ip")
    assert created["trust_client_ip"] is True
    listed = {i["name"]: i["trust_client_ip"] for i in cli.json("integration", "list")}
    assert listed == {"radius": False, "vpn": True}
    table = cli.ok("integration", "list").stdout.splitlines()
    assert table[0].split() == ["NAME", "ID", "CREATED", "TRUST_CLIENT_IP"]
    assert [row.split()[-1] for row in table[1:]] == ["no", "yes"]
    shown = cli.json("integration", "show", "vpn")
    assert shown == {**shown, "name": "vpn", "trust_client_ip": True}
    assert "trust_client_ip: yes" in cli.ok("integration", "show", "vpn").stdout
    changed = cli.ok("integration", "set", "vpn", "--no-trust-client-ip")
    assert "client_ip is ignored" in changed.stdout
    assert cli.json("integration", "show", "vpn")["trust_client_ip"] is False
    assert cli.json("integration", "set", "radius", "--trust-client-ip")["trust_client_ip"]
    cli.ok("integration", "set", "radius", "--trust-client-ip")  # no change: not audited
    missing = cli("integration", "set", "nothing", "--trust-client-ip")
    assert missing.exit_code == 1 and "no such integration" in missing.output
    assert cli("integration", "show", "nothing").exit_code == 1
    with direct.core.store.read() as s:
        rows = s.query(AuditEvent).filter(AuditEvent.event.like("integration.%")).all()
        changes = [(r.event, r.details) for r in rows if r.event != "integration.added"]
        added = {r.details["integration"]: r.details["trust_client_ip"] for r in rows[:2]}
    assert added == {"radius": False, "vpn": True}
    assert [(e, d["integration"], d["trust_client_ip"]) for e, d in changes] == [
        ("integration.changed", "vpn", False),
        ("integration.changed", "radius", True),
    ]
    assert {r.door for r in rows} == {"cli"}
