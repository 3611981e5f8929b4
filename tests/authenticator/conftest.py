"""Fixtures for the authenticator app: a private home folder, the fake server, an account
registered with it, a code-generator account, a cheap scrypt cost, and a store encrypted the
way an earlier release wrote it."""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from portvakt_authenticator import keystore
from portvakt_authenticator.accounts import OtpAccount, PushAccount, parse_otpauth
from portvakt_authenticator.client import PushClient
from tests.authenticator.fakeserver import FakeServer

# The app picks its language once, at import (as tests/conftest.py explains for the server's
# CLI); the assertions here are in English. test_i18n.py runs Norwegian in a subprocess.
os.environ["PORTVAKT_LANGUAGE"] = "en"

# RFC 6238 Appendix B's SHA-1 seed ("12345678901234567890"), as base32.
RFC_SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
TOTP_URI = f"otpauth://totp/Example:alice@example.org?secret={RFC_SEED}&issuer=Example"


# The cost new stores get, as shipped (read before any test lowers it), and the cheapest cost
# the app accepts, which every test here uses unless it asks for another (one derivation at
# the shipped cost takes about 0.3 s and 128 MiB).
SHIPPED_COST = keystore.SCRYPT_COST
FAST_COST = keystore.ScryptCost(n=2**14, r=8, p=1)


@pytest.fixture(autouse=True)
def _fast_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keystore, "SCRYPT_COST", FAST_COST)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def legacy_store(home: Path, pin: str, *, n: int = 2**15) -> None:
    """Encrypt the accounts file under ``pin`` exactly as releases before issue 9 did (any PIN
    of 4 or more characters, scrypt n=2^15, r=8, p=1), without the code under test."""
    path = home / "accounts.json"
    accounts = json.loads(path.read_text())["accounts"] if path.exists() else []
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    key = Scrypt(salt=salt, length=32, n=n, r=8, p=1).derive(pin.encode())
    plain = json.dumps({"accounts": accounts}).encode()
    document = {
        "format": "portvakt-authenticator/1",
        "encrypted": True,
        "kdf": {"name": "scrypt", "salt": _b64(salt), "n": n, "r": 8, "p": 1},
        "nonce": _b64(nonce),
        "ciphertext": _b64(AESGCM(key).encrypt(nonce, plain, b"portvakt-authenticator/1")),
    }
    home.mkdir(mode=0o700, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    path.chmod(0o600)


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
