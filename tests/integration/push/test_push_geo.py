"""With a GeoIP City database configured, the phone is told where the sign-in comes from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from portvakt.channels.geoip import GeoIpLocator, locator_from_path
from portvakt.domain import UserRef
from tests.conftest import FakeClock
from tests.integration.push.simapp import SimApp, add_push_device
from tests.integration.push.test_push_flow import _signed_in_with_totp
from tests.integration.web import flows

OSLO = "84.208.20.0/24"  # public: documentation ranges count as private


def write_city_db(path: Path) -> Path:
    writer = MMDBWriter(
        ip_version=6,
        database_type="GeoIP2-City",
        languages=["en"],
        description="Portvakt test",
        ipv4_compatible=True,
    )
    writer.insert_network(
        IPSet([OSLO]),
        {
            "city": {"names": {"en": "Oslo"}},
            "country": {"iso_code": "NO", "names": {"en": "Norway"}},
        },
    )
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    return {
        "public_url": "http://localhost",
        "geoip_database": write_city_db(tmp_path / "city.mmdb"),
    }


def test_push_request_carries_city_and_country(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    _signed_in_with_totp(client, clock)
    app = add_push_device(client, clock)
    flows.sign_out(client)
    from_oslo = TestClient(client.app, client=("84.208.20.7", 40000))
    flows.post_password(from_oslo)
    from_oslo.post("/signin/push", data={"csrf_token": flows.token(from_oslo)})
    (challenge,) = SimApp(
        client,
        clock,
        key=app.key,
        device_id=app.device_id,
        server=app.server,
        server_key=app.server_key,
    ).challenges()
    assert challenge["context"]["city"] == "Oslo"
    assert challenge["context"]["country"] == "Norway"
    from_oslo.close()


def test_locator_ignores_unknown_private_and_bad_addresses(tmp_path: Path) -> None:
    locator = GeoIpLocator(write_city_db(tmp_path / "c.mmdb"))
    assert locator.locate("84.208.20.9") == ("Oslo", "Norway")
    assert locator.locate("203.0.113.5") == (None, None)
    assert locator.locate("10.0.0.1") == (None, None)
    assert locator.locate("not an ip") == (None, None)
    locator.close()
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"not a database")
    assert locator_from_path(broken).locate("84.208.20.9") == (None, None)
    assert locator_from_path(None).locate("84.208.20.9") == (None, None)
