"""HOTP/TOTP engine, base32 helpers, validation window and otpauth URI (SECURITY.md §2.A)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from portvakt.crypto import otp

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
HOTP_FILE: dict[str, Any] = json.loads((VECTORS / "rfc4226_appendix_d.json").read_text())
TOTP_FILE: dict[str, Any] = json.loads((VECTORS / "rfc6238_appendix_b.json").read_text())
ALGORITHMS = ("SHA1", "SHA256", "SHA512")

HOTP_SECRET = HOTP_FILE["secret_ascii"].encode()
TOTP_SEEDS = {alg: seed["ascii"].encode() for alg, seed in TOTP_FILE["seeds"].items()}
SHA1_SEED = TOTP_SEEDS["SHA1"]
DEFAULT = otp.OtpParams()
# A time in the middle of a step, so ±30 s lands in the neighbouring steps.
NOW = 1_700_000_015.0


def _hotp_rows() -> list[Any]:
    return [pytest.param(row, id=f"count={row['count']}") for row in HOTP_FILE["vectors"]]


def _totp_rows() -> list[Any]:
    return [
        pytest.param(alg, row, id=f"{alg}-t={row['unix_time']}")
        for row in TOTP_FILE["vectors"]
        for alg in ALGORITHMS
    ]


def test_vector_files_name_their_rfc_section() -> None:
    """STYLE §2: each vector file names the section it was taken from."""
    assert HOTP_FILE["source"].startswith("RFC 4226 Appendix D")
    assert TOTP_FILE["source"].startswith("RFC 6238 Appendix B")
    assert len(HOTP_FILE["vectors"]) + 3 * len(TOTP_FILE["vectors"]) == 28


# -- RFC 4226 Appendix D (OTP-01) ------------------------------------------------------------


@pytest.mark.parametrize("row", _hotp_rows())
def test_hotp_matches_rfc4226_vector_for_count(row: dict[str, Any]) -> None:
    """OTP-01: RFC 4226 Appendix D, SHA1, 6 digits."""
    assert otp.hotp(HOTP_SECRET, row["count"]) == row["hotp"]


@pytest.mark.parametrize("row", _hotp_rows())
def test_rfc4226_vector_file_is_self_consistent_for_count(row: dict[str, Any]) -> None:
    """OTP-01: the transcribed HMAC and dynamic truncation columns agree (RFC 4226 §5.3)."""
    assert bytes.fromhex(HOTP_FILE["secret_hex"]) == HOTP_SECRET
    assert otp.b32decode(HOTP_FILE["secret_base32"]) == HOTP_SECRET
    mac = hmac.new(HOTP_SECRET, row["count"].to_bytes(8, "big"), hashlib.sha1).digest()
    assert mac.hex() == row["hmac_sha1_hex"]
    offset = mac[-1] & 0x0F
    truncated = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    assert truncated == row["truncated_dec"] == int(row["truncated_hex"], 16)
    assert f"{truncated % 10**6:06d}" == row["hotp"]


# -- RFC 6238 Appendix B (OTP-01) ------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_rfc6238_seed_base32_decodes_to_ascii_seed_for_algorithm(alg: str) -> None:
    """OTP-01: each hash uses a seed of its own output length (RFC 6238 App. A code, erratum)."""
    seed = TOTP_FILE["seeds"][alg]
    assert otp.b32decode(seed["base32"]) == seed["ascii"].encode()
    assert len(TOTP_SEEDS[alg]) == otp.DIGESTS[alg]().digest_size


@pytest.mark.parametrize(("alg", "row"), _totp_rows())
def test_totp_matches_rfc6238_vector_with_eight_digits(alg: str, row: dict[str, Any]) -> None:
    """OTP-01: RFC 6238 Appendix B, SHA1/SHA256/SHA512, 8 digits, T0 = 0, X = 30."""
    params = otp.OtpParams(algorithm=alg, digits=TOTP_FILE["digits"], period=TOTP_FILE["period"])
    assert otp.totp(TOTP_SEEDS[alg], row["unix_time"], params) == row[alg]


@pytest.mark.parametrize("row", TOTP_FILE["vectors"], ids=lambda row: str(row["unix_time"]))
def test_time_step_matches_rfc6238_t_column_beyond_32_bits(row: dict[str, Any]) -> None:
    """OTP-01: T = floor(t / 30) (RFC 6238 §4.2), including T > 2**32 s at t = 20000000000."""
    assert otp.time_step(row["unix_time"]) == int(row["t_hex"], 16)


def test_time_step_handles_time_beyond_32_bits() -> None:
    """OTP-01: RFC 6238 §4 requires T beyond 32-bit time (post-2038)."""
    assert 20_000_000_000 > 2**32
    assert otp.time_step(20_000_000_000) == 0x27BC86AA


@pytest.mark.parametrize(
    "row", TOTP_FILE["derived"]["sha1_6_digits"], ids=lambda row: str(row["unix_time"])
)
def test_totp_matches_derived_vector_with_six_digits(row: dict[str, Any]) -> None:
    """OTP-01: 6-digit SHA1 codes (last six digits of App. B), leading zeros kept."""
    assert otp.totp(SHA1_SEED, row["unix_time"], DEFAULT) == row["code"]


@pytest.mark.parametrize(
    "row",
    TOTP_FILE["derived"]["sha1_8_digits_step_boundary"],
    ids=lambda row: str(row["unix_time"]),
)
def test_totp_changes_code_at_step_boundary(row: dict[str, Any]) -> None:
    """OTP-01: t = 29 is still step 0, t = 30 is step 1."""
    params = otp.OtpParams(digits=8)
    assert otp.totp(SHA1_SEED, row["unix_time"], params) == row["code"]


def test_hotp_count_one_equals_totp_at_step_one() -> None:
    """OTP-01: TOTP is HOTP over T (RFC 6238 §4.2); cross-checks §3.1 against §3.2."""
    assert otp.totp(SHA1_SEED, 59, DEFAULT) == otp.hotp(HOTP_SECRET, 1) == "287082"


# -- parameters and base32 -------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"algorithm": "MD5"}, id="md5"),
        pytest.param({"algorithm": "sha1"}, id="lowercase-alg"),
        pytest.param({"digits": 7}, id="7-digits"),
        pytest.param({"digits": 10}, id="10-digits"),
        pytest.param({"period": 15}, id="15s"),
        pytest.param({"period": 0}, id="0s"),
    ],
)
def test_otp_params_rejects_unsupported_value(kwargs: dict[str, Any]) -> None:
    """OTP-07: only SHA1/256/512, 6 or 8 digits, 30 or 60 s periods."""
    with pytest.raises(ValueError, match="unsupported"):
        otp.OtpParams(**kwargs)


def test_otp_params_defaults_to_sha1_six_digits_thirty_seconds() -> None:
    """SECURITY.md §1: the default every authenticator app honours."""
    assert (DEFAULT.algorithm, DEFAULT.digits, DEFAULT.period) == ("SHA1", 6, 30)


def test_b32_omits_padding() -> None:
    """OTP-07: base32 without padding in the otpauth URI."""
    assert otp.b32(b"12345678901234567890123456789012") == (
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA"
    )
    assert otp.b32(bytes.fromhex("48656c6c6f21deadbeef")) == "JBSWY3DPEHPK3PXP"


@pytest.mark.parametrize(
    "text",
    [
        "JBSWY3DPEHPK3PXP",
        "jbswy3dpehpk3pxp",
        "JBSW Y3DP EHPK 3PXP",
        " jbsw\ty3dp\nehpk 3pxp ",
        "JBSWY3DPEHPK3PXP====",
    ],
)
def test_b32decode_accepts_spacing_case_and_padding(text: str) -> None:
    """Seed import: spaces and case are ignored (SECURITY.md §3.3 canonical secret)."""
    assert otp.b32decode(text) == bytes.fromhex("48656c6c6f21deadbeef")


@pytest.mark.parametrize(
    "text", ["", "   ", "====", "JBSWY3DP1", "JBSW-Y3DP", "A", "ABC", "ABCDEF", "ÅBCDEFGH"]
)
def test_b32decode_rejects_invalid_text(text: str) -> None:
    """Seed import: bad base32 is a ``ValueError``, never another exception."""
    with pytest.raises(ValueError, match="not base32"):
        otp.b32decode(text)


@pytest.mark.parametrize("size", [1, 5, 10, 20, 32, 64])
def test_b32decode_inverts_b32_for_length(size: int) -> None:
    """Unpadded output of ``b32`` decodes back to the same bytes."""
    raw = bytes(range(size))
    assert otp.b32decode(otp.b32(raw)) == raw


# -- validation window (OTP-02) ---------------------------------------------------------------


def test_candidate_steps_yields_current_step_first() -> None:
    """OTP-02: RFC 6238 §5.2, current step first, then ±1 … ±window."""
    now = otp.time_step(NOW)
    assert list(otp.candidate_steps(NOW, DEFAULT, 2)) == [now, now - 1, now + 1, now - 2, now + 2]


@pytest.mark.parametrize("offset", [-30, 0, 30])
def test_match_totp_accepts_code_within_one_step_at_window_one(offset: int) -> None:
    """OTP-02: code(t-30), code(t) and code(t+30) are accepted at window 1."""
    code = otp.totp(SHA1_SEED, NOW + offset, DEFAULT)
    step = otp.match_totp(SHA1_SEED, code, NOW, params=DEFAULT, window=1)
    assert step == otp.time_step(NOW + offset)


@pytest.mark.parametrize("offset", [-90, -60, 60, 90])
def test_match_totp_rejects_code_two_steps_away_at_window_one(offset: int) -> None:
    """OTP-02: code(t-60) and code(t+60) are rejected at window 1."""
    code = otp.totp(SHA1_SEED, NOW + offset, DEFAULT)
    assert otp.match_totp(SHA1_SEED, code, NOW, params=DEFAULT, window=1) is None


@pytest.mark.parametrize("offset", [-30, 30])
def test_match_totp_rejects_neighbouring_step_at_window_zero(offset: int) -> None:
    """OTP-02: window 0 accepts only the current step."""
    code = otp.totp(SHA1_SEED, NOW + offset, DEFAULT)
    assert otp.match_totp(SHA1_SEED, code, NOW, params=DEFAULT, window=0) is None
    current = otp.totp(SHA1_SEED, NOW, DEFAULT)
    assert otp.match_totp(SHA1_SEED, current, NOW, params=DEFAULT, window=0) is not None


@pytest.mark.parametrize("offset", [-60, 60])
def test_match_totp_accepts_two_steps_away_at_window_two(offset: int) -> None:
    """OTP-02: the window is configurable up to 2."""
    code = otp.totp(SHA1_SEED, NOW + offset, DEFAULT)
    step = otp.match_totp(SHA1_SEED, code, NOW, params=DEFAULT, window=2)
    assert step == otp.time_step(NOW + offset)


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_match_totp_uses_credential_params_with_eight_digits(alg: str) -> None:
    """OTP-01/02: the RFC 6238 vector at t = 20000000000 matches step 0x27BC86AA."""
    params = otp.OtpParams(algorithm=alg, digits=8)
    row = TOTP_FILE["vectors"][-1]
    step = otp.match_totp(TOTP_SEEDS[alg], row[alg], row["unix_time"], params=params, window=1)
    assert step == 0x27BC86AA


def test_match_totp_uses_sixty_second_period() -> None:
    """OTP-02: with a 60 s period the step is floor(t / 60)."""
    params = otp.OtpParams(period=60)
    code = otp.hotp(SHA1_SEED, 1_000, params)
    assert otp.match_totp(SHA1_SEED, code, 60_000 + 59, params=params, window=0) == 1_000


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("", id="empty"),
        pytest.param("28708", id="too-short"),
        pytest.param("2870820", id="too-long"),
        pytest.param("94287082", id="eight-digits-for-six"),
        pytest.param("28708a", id="letter"),
        pytest.param(" 287082", id="space"),
        pytest.param("-28708", id="sign"),
        pytest.param("٢٨٧٠٨٢", id="arabic-indic-digits"),
        pytest.param("²⁸⁷⁰⁸²", id="superscript-digits"),
        pytest.param("２８７０８２", id="fullwidth-digits"),
    ],
)
def test_match_totp_returns_none_for_malformed_code(code: str) -> None:
    """OTP-02: malformed input is a plain mismatch and never raises (code for t = 59 is 287082)."""
    assert otp.match_totp(SHA1_SEED, code, 59, params=DEFAULT, window=1) is None


def test_match_totp_skips_negative_steps_at_epoch() -> None:
    """OTP-02: at t = 0 the step T-1 would be negative; it is skipped, T = 0 still matches."""
    code = otp.hotp(SHA1_SEED, 0)
    assert otp.match_totp(SHA1_SEED, code, 0, params=DEFAULT, window=2) == 0


def test_match_totp_rejects_code_of_other_seed() -> None:
    """OTP-02: a code is bound to its seed."""
    code = otp.totp(SHA1_SEED, NOW, DEFAULT)
    assert otp.match_totp(b"\x00" * 20, code, NOW, params=DEFAULT, window=1) is None


# -- otpauth URI (OTP-07) ---------------------------------------------------------------------

CANONICAL_SECRET = bytes.fromhex("48656c6c6f21deadbeef")


def test_provisioning_uri_matches_key_uri_format_snapshot() -> None:
    """OTP-07: issuer in label and parameter, base32 without padding, SHA1/6/30 spelled out."""
    uri = otp.provisioning_uri(
        CANONICAL_SECRET, issuer="Example", account="alice@google.com", params=DEFAULT
    )
    assert uri == (
        "otpauth://totp/Example:alice@google.com"
        "?secret=JBSWY3DPEHPK3PXP&issuer=Example&algorithm=SHA1&digits=6&period=30"
    )


@pytest.mark.parametrize(
    ("alg", "digits", "period"),
    [("SHA1", 6, 30), ("SHA256", 8, 30), ("SHA512", 8, 60), ("SHA1", 8, 60)],
)
def test_provisioning_uri_round_trips_through_pyotp(alg: str, digits: int, period: int) -> None:
    """OTP-07: ``pyotp.parse_uri`` reads back secret, issuer, account and parameters."""
    params = otp.OtpParams(algorithm=alg, digits=digits, period=period)
    seed = bytes(range(20))
    uri = otp.provisioning_uri(seed, issuer="Portvakt", account="alice", params=params)
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.secret == otp.b32(seed)
    assert parsed.issuer == "Portvakt"
    assert parsed.name == "alice"
    assert parsed.digits == digits
    assert parsed.interval == period
    assert parsed.digest is otp.DIGESTS[alg]
    assert parsed.at(NOW) == otp.totp(seed, NOW, params)


@pytest.mark.parametrize(
    ("issuer", "account", "want_issuer", "want_account"),
    [
        pytest.param("Acme:IT", "alice", "Acme IT", "alice", id="colon-in-issuer"),
        pytest.param("Acme", "corp:alice", "Acme", "corp alice", id="colon-in-account"),
        pytest.param(":Acme:", "a:b:c", "Acme", "a b c", id="colons-everywhere"),
    ],
)
def test_provisioning_uri_replaces_colon_in_issuer_or_account(
    issuer: str, account: str, want_issuer: str, want_account: str
) -> None:
    """OTP-07: neither label part may contain a colon; the label has exactly one separator."""
    uri = otp.provisioning_uri(bytes(20), issuer=issuer, account=account, params=DEFAULT)
    label = urlsplit(uri).path[1:]
    assert label.count(":") == 1
    assert "%3A" not in label.upper()
    parsed = pyotp.parse_uri(uri)
    assert (parsed.issuer, parsed.name) == (want_issuer, want_account)
    assert parse_qs(urlsplit(uri).query)["issuer"] == [want_issuer]


@pytest.mark.parametrize(
    ("issuer", "account"),
    [
        ("A&B Co", "bob"),
        ("Acme Corp", "bob+tag@example.org"),
        ("Portvakt #1", "a/b?c=d&e"),
        ("Ørsta kommune", "åse.ødegård@example.no"),
        ("100% Secure", "x=y"),
    ],
)
def test_provisioning_uri_encodes_reserved_characters(issuer: str, account: str) -> None:
    """OTP-07: URL-encoded label and ``issuer`` parameter survive the round trip unchanged."""
    uri = otp.provisioning_uri(bytes(20), issuer=issuer, account=account, params=DEFAULT)
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert not parts.fragment
    parsed = pyotp.parse_uri(uri)
    assert (parsed.issuer, parsed.name) == (issuer, account)
    assert parse_qs(parts.query)["issuer"] == [issuer]


def test_provisioning_uri_secret_has_no_padding_for_twenty_byte_seed() -> None:
    """OTP-06/07: a 160-bit seed is 32 base32 characters without ``=``."""
    uri = otp.provisioning_uri(bytes(20), issuer="Portvakt", account="a", params=DEFAULT)
    (secret,) = parse_qs(urlsplit(uri).query)["secret"]
    assert len(secret) == 32
    assert "=" not in secret


def test_hotp_accepts_80_bit_seeds_of_older_tokens() -> None:
    """pyotp refuses seeds under 112 bits; imported 10-byte seeds must still verify."""
    seed = bytes(range(10))
    mac = hmac.new(seed, (7).to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    expected = (int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF) % 1_000_000
    assert otp.hotp(seed, 7) == f"{expected:06d}"


def test_hotp_matches_pyotp_for_long_seeds() -> None:
    seed = bytes(range(32))
    for counter in (0, 1, 99, 2**33):
        expected = pyotp.HOTP(otp.b32(seed)).at(counter)
        assert otp.hotp(seed, counter) == expected
