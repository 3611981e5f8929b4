"""Fixtures for the authenticator app: a private home folder, the fake server, an account
registered with it, and a code-generator account."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from portvakt_authenticator.accounts import OtpAccount, PushAccount, parse_otpauth
from portvakt_authenticator.client import PushClient
from tests.authenticator.fakeserver import FakeServer

# The app picks its language once, at import (as tests/conftest.py explains for the server's
# CLI); the assertions here are in English. test_i18n.py runs Norwegian in a subprocess.
os.environ["PORTVAKT_LANGUAGE"] = "en"

# RFC 6238 Appendix B's SHA-1 seed ("12345678901234567890"), as base32.
RFC_SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
TOTP_URI = f"otpauth://totp/Example:alice@example.org?secret={RFC_SEED}&issuer=Example"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "authenticator"
    monkeypatch.setenv("PORTVAKT_AUTHENTICATOR_HOME", str(folder))
    return folder


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def client(server: FakeServer) -> Iterator[PushClient]:
    with PushClient(transport=server.transport()) as push_client:
        yield push_client


@pytest.fixture
def registered(server: FakeServer, client: PushClient) -> PushAccount:
    return client.register(server.activation(), device_name="Test laptop")


@pytest.fixture
def totp_account() -> OtpAccount:
    return parse_otpauth(TOTP_URI, now=1_700_000_000)
