"""PSKC (the RFC 6030 example documents: plain, pre-shared key with a MAC, PBKDF2) and CSV
import of OATH tokens: what is read, and what is refused with which reason."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from portvakt.methods.base import ParsedTokens
from portvakt.methods.oath import csvfile, pskc
from portvakt.methods.oath.params import from_json

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "pskc"
PRE_SHARED = bytes.fromhex("12345678901234567890123456789012")
RFC_SECRET = b"12345678901234567890"


def _figure(n: int) -> bytes:
    return (VECTORS / f"rfc6030-figure{n}.xml").read_bytes()


def _reasons(parsed: ParsedTokens) -> list[tuple[str, str]]:
    return [(r.where, r.reason) for r in parsed.rejected]


def test_figure_2_a_plain_key() -> None:
    parsed = pskc.parse(_figure(2), password=None, key=None)
    (token,) = parsed.tokens
    assert (token.serial, token.secret, token.counter) == ("12345678", b"1234", None)
    assert from_json(token.params).otp == "hotp"


def test_figure_3_supplementary_data() -> None:
    (token,) = pskc.parse(_figure(3), password=None, key=None).tokens
    assert (token.serial, token.secret) == ("987654321", RFC_SECRET)
    assert from_json(token.params).otp_params.digits == 8


def test_figure_4_a_derived_key_cannot_be_imported() -> None:
    parsed = pskc.parse(_figure(4), password=None, key=None)
    assert parsed.tokens == () and _reasons(parsed) == [("key 987654321", "no_secret")]


def test_figure_5_the_device_pin_is_not_a_token() -> None:
    parsed = pskc.parse(_figure(5), password=None, key=None)
    assert parsed.rejected == ()
    (token,) = parsed.tokens
    assert (token.serial, token.secret) == ("987654321", RFC_SECRET)


def test_figure_6_a_pre_shared_key_and_a_mac() -> None:
    (token,) = pskc.parse(_figure(6), password=None, key=PRE_SHARED).tokens
    assert (token.serial, token.secret) == ("987654321", RFC_SECRET)
    assert _reasons(pskc.parse(_figure(6), password=None, key=None)) == [("file", "key_needed")]
    wrong = pskc.parse(_figure(6), password=None, key=bytes(16))
    assert _reasons(wrong) == [("file", "wrong_password_or_key")]


def test_figure_7_a_password_based_key() -> None:
    (token,) = pskc.parse(_figure(7), password="qwerty", key=None).tokens
    assert (token.serial, token.secret) == ("987654321", RFC_SECRET)
    assert _reasons(pskc.parse(_figure(7), password=None, key=None)) == [
        ("file", "password_needed")
    ]
    refused = pskc.parse(_figure(7), password="qwertz", key=None)
    assert refused.tokens == () and refused.rejected[0].reason == "wrong_password_or_key"


def test_a_changed_value_fails_its_mac() -> None:
    text = _figure(6).decode()
    found = re.search(r"(AAECAwQFBgcICQoLDA0OD[^\s<]+)", text)
    assert found is not None
    blob = bytearray(base64.b64decode(found.group(1)))
    blob[-1] ^= 1
    changed = text.replace(found.group(1), base64.b64encode(bytes(blob)).decode())
    parsed = pskc.parse(changed.encode(), password=None, key=PRE_SHARED)
    assert _reasons(parsed) == [("key 987654321", "bad_mac")]


@pytest.mark.parametrize(
    "document",
    [
        b"<KeyContainer",
        b"not xml at all",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    ],
)
def test_malformed_xml_and_entities_are_refused(document: bytes) -> None:
    assert _reasons(pskc.parse(document, password=None, key=None)) == [("file", "malformed_xml")]


def test_a_document_that_is_not_pskc_and_one_without_keys() -> None:
    assert _reasons(pskc.parse(b"<x/>", password=None, key=None)) == [("file", "not_pskc")]
    empty = b'<KeyContainer xmlns="urn:ietf:params:xml:ns:keyprov:pskc" Version="1.0"/>'
    assert _reasons(pskc.parse(empty, password=None, key=None)) == [("file", "no_keys")]


def test_csv_reads_hex_and_base32_hotp_and_totp() -> None:
    data = (
        "serial,secret,type,digits,period_or_counter\n"
        "fob-1,3132333435363738393031323334353637383930,hotp,6,12\n"
        "card-1,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,TOTP,8,60\n"
        "\n# a comment\n"
    )
    parsed = csvfile.parse(data.encode())
    assert parsed.rejected == ()
    fob, card = parsed.tokens
    assert fob.secret == card.secret == RFC_SECRET
    assert fob.counter == 11  # the next code is counter 12
    assert from_json(card.params).otp_params.period == 60


def test_csv_reports_every_bad_row() -> None:
    data = (
        "a,zz!,hotp,6,0\n"
        "b,3132,sms,6,0\n"
        "c,3132,totp,7,30\n"
        "d,3132,totp,6\n"
        "e,3132,hotp,six,0\n"
        ",3132,hotp,6,0\n"
        "f,3132,hotp,6,0\n"
    )
    parsed = csvfile.parse(data.encode())
    assert [(r.where, r.reason) for r in parsed.rejected] == [
        ("row 1", "bad_secret"),
        ("row 2", "unsupported_type"),
        ("row 3", "unsupported_parameters"),
        ("row 4", "wrong_column_count"),
        ("row 5", "bad_value"),
        ("row 6", "no_serial"),
    ]
    assert [t.serial for t in parsed.tokens] == ["f"]
    assert csvfile.parse(b"\xff\xfe").rejected[0].reason == "not_utf8"


def test_an_encrypted_value_without_its_mac_is_refused() -> None:
    text = re.sub(r"<ValueMAC>[^<]*</ValueMAC>", "", _figure(6).decode())
    parsed = pskc.parse(text.encode(), password=None, key=PRE_SHARED)
    assert _reasons(parsed) == [("key 987654321", "no_mac")]


def test_pbkdf2_parameters_in_the_pkcs5_namespace() -> None:
    text = _figure(7).decode()
    for name in ("Salt", "Specified", "IterationCount", "KeyLength", "PRF"):
        text = text.replace(f"<{name}>", f"<pkcs5:{name}>").replace(
            f"</{name}>", f"</pkcs5:{name}>"
        )
        text = text.replace(f"<{name}/>", f"<pkcs5:{name}/>")
    (token,) = pskc.parse(text.encode(), password="qwerty", key=None).tokens
    assert token.secret == RFC_SECRET
