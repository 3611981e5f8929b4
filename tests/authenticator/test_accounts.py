"""URIs (otpauth:// and portvakt://activate), codes against the RFC vectors, the JSON form of an
account, and finding an account by what a person types."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from portvakt import protocol
from portvakt_authenticator.accounts import (
    Account,
    AccountKind,
    LookupFailed,
    OtpAccount,
    PushAccount,
    UriError,
    find,
    from_dict,
    parse_otpauth,
    parse_uri,
    to_dict,
)
from tests.authenticator.conftest import RFC_SEED, TOTP_URI

VECTORS = Path(__file__).resolve().parents[1] / "unit" / "vectors"
TOTP_FILE: dict[str, Any] = json.loads((VECTORS / "rfc6238_appendix_b.json").read_text())
HOTP_FILE: dict[str, Any] = json.loads((VECTORS / "rfc4226_appendix_d.json").read_text())


def test_otpauth_totp_uri_is_parsed() -> None:
    account = parse_otpauth(TOTP_URI)
    assert account.kind is AccountKind.TOTP
    assert (account.issuer, account.label) == ("Example", "alice@example.org")
    assert account.secret == RFC_SEED
    assert (account.algorithm, account.digits, account.period) == ("SHA1", 6, 30)
    assert account.name == "Example: alice@example.org"


def test_otpauth_parameters_and_label_without_issuer_prefix() -> None:
    uri = (
        "otpauth://totp/bob%40example.org?secret=gezd gnbv gy3t qojq gezd gnbv gy3t qojq"
        "&issuer=Corp&algorithm=sha256&digits=8&period=60"
    )
    account = parse_otpauth(uri)
    assert (account.issuer, account.label) == ("Corp", "bob@example.org")
    assert (account.algorithm, account.digits, account.period) == ("SHA256", 8, 60)
    assert account.secret == RFC_SEED


def test_otpauth_hotp_uri_keeps_its_counter() -> None:
    account = parse_otpauth(f"otpauth://hotp/Corp:carol?secret={RFC_SEED}&counter=7")
    assert account.kind is AccountKind.HOTP and account.counter == 7


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        ("https://example.org/", "not_a_uri"),
        ("otpauth://push/x?secret=" + RFC_SEED, "unsupported_type"),
        ("otpauth://steam/x?secret=" + RFC_SEED, "unsupported_type"),
        ("otpauth://totp/x", "missing_secret"),
        ("otpauth://totp/x?secret=not-base32!", "bad_secret"),
        ("otpauth://totp/x?secret=JBSWY3DP", "short_secret"),  # 40 bits
        (f"otpauth://totp/x?secret={RFC_SEED}&digits=7", "unsupported_parameters"),
        (f"otpauth://totp/x?secret={RFC_SEED}&period=15", "unsupported_parameters"),
        (f"otpauth://totp/x?secret={RFC_SEED}&algorithm=MD5", "unsupported_parameters"),
        (f"otpauth://totp/x?secret={RFC_SEED}&digits=six", "unsupported_parameters"),
        (f"otpauth://hotp/x?secret={RFC_SEED}&counter=-1", "unsupported_parameters"),
        (f"otpauth://totp/?secret={RFC_SEED}", "unsupported_parameters"),
    ],
)
def test_bad_otpauth_uris_are_refused(uri: str, code: str) -> None:
    with pytest.raises(UriError) as caught:
        parse_uri(uri)
    assert caught.value.code == code


def test_activation_uri_is_parsed() -> None:
    activation = protocol.Activation(
        server="https://mfa.example.org",
        code="abc",
        fingerprint="fp",
        account="alice",
        issuer="Portvakt",
    )
    assert parse_uri(activation.to_uri()) == activation


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        ("portvakt://activate?v=2&server=https%3A%2F%2Fa&code=c&fp=f", "unsupported_version"),
        ("portvakt://activate?v=1&server=https%3A%2F%2Fa&code=c", "incomplete_uri"),
        ("portvakt://activate?v=1&server=ftp%3A%2F%2Fa&code=c&fp=f", "bad_server_url"),
        ("portvakt://other?v=1", "not_an_activation_uri"),
        ("portvakt://activate?v=x", "bad_version"),
    ],
)
def test_bad_activation_uris_are_refused(uri: str, code: str) -> None:
    with pytest.raises(UriError) as caught:
        parse_uri(uri)
    assert caught.value.code == code


@pytest.mark.parametrize("row", TOTP_FILE["vectors"], ids=lambda row: str(row["unix_time"]))
@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256", "SHA512"])
def test_totp_codes_match_rfc6238_appendix_b(row: dict[str, Any], algorithm: str) -> None:
    seed = TOTP_FILE["seeds"][algorithm]["base32"].rstrip("=")
    uri = f"otpauth://totp/RFC:6238?secret={seed}&algorithm={algorithm}&digits=8"
    code, left = parse_otpauth(uri).totp(row["unix_time"])
    assert code == row[algorithm]
    assert left == 30 - row["unix_time"] % 30


def test_totp_seconds_left_counts_down_to_the_step_boundary(totp_account: OtpAccount) -> None:
    assert totp_account.totp(59)[1] == 1
    assert totp_account.totp(60)[1] == 30
    assert totp_account.totp(59)[0] == "287082"  # RFC 6238 B, SHA-1, 6 digits


@pytest.mark.parametrize("row", HOTP_FILE["vectors"], ids=lambda row: str(row["count"]))
def test_hotp_codes_match_rfc4226_appendix_d(row: dict[str, Any]) -> None:
    account = parse_otpauth(f"otpauth://hotp/RFC:4226?secret={RFC_SEED}&counter={row['count']}")
    assert account.hotp() == row["hotp"]


def test_accounts_round_trip_through_their_json_form(
    totp_account: OtpAccount, registered: PushAccount
) -> None:
    hotp = replace(totp_account, kind=AccountKind.HOTP, counter=3, id="h1")
    for account in (totp_account, hotp, registered):
        assert from_dict(json.loads(json.dumps(to_dict(account)))) == account
    assert "period" not in to_dict(hotp) and to_dict(hotp)["counter"] == 3


@pytest.mark.parametrize(
    "change",
    [
        {"type": "sms"},
        {"secret": "!!"},
        {"digits": 9},
        {"device_key": {"kty": "oct", "k": "AAAA"}},
        {"server_key": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"}},
    ],
)
def test_bad_account_entries_are_refused(
    change: dict[str, Any], totp_account: OtpAccount, registered: PushAccount
) -> None:
    base = to_dict(registered) if "key" in next(iter(change)) else to_dict(totp_account)
    with pytest.raises(ValueError, match="bad account entry"):
        from_dict(base | change)


def test_find_by_id_name_label_or_issuer(totp_account: OtpAccount, registered: PushAccount) -> None:
    accounts: list[Account] = [totp_account, registered]
    assert find(accounts, totp_account.id) is totp_account
    assert find(accounts, "example: ALICE@example.org") is totp_account
    assert find(accounts, "alice@example.org") is totp_account
    assert find(accounts, "Example") is totp_account
    assert find(accounts, "portvakt") is registered


def test_find_reports_missing_and_ambiguous(totp_account: OtpAccount) -> None:
    twin = replace(totp_account, id="twin")
    with pytest.raises(LookupFailed) as missing:
        find([totp_account], "nobody")
    assert missing.value.code == "not_found"
    with pytest.raises(LookupFailed) as ambiguous:
        find([totp_account, twin], "Example")
    assert ambiguous.value.code == "ambiguous" and len(ambiguous.value.matches) == 2
    assert find([totp_account, twin], "twin") is twin


def test_eighty_bit_secrets_of_common_services_are_accepted() -> None:
    """The canonical Key Uri Format example (JBSWY3DPEHPK3PXP, 80 bits) must work."""
    account = parse_otpauth(
        "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example"
    )
    assert account.issuer == "Example"
