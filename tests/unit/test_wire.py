"""portvakt.wire: the strict readers every identifier, number and token from the wire goes
through (issue 9, item 5: "²" passed ``str.isdigit`` and failed ``int``; 40 digits overflowed
the id column; NUL broke PostgreSQL)."""

from __future__ import annotations

import pytest

from portvakt import wire

NOT_IDENTIFIERS: list[object] = [
    "",
    "0",
    "-1",
    "+1",
    " 1",
    "1 ",
    "1\n",
    "01",
    "1.0",
    "1_000",
    "²",
    "٣",
    "１",
    "1" * 40,
    str(wire.MAX_ID + 1),
    "1\x00",
    1,
    True,
    None,
    ["1"],
    {"1": 1},
]


@pytest.mark.parametrize("value", ["1", "42", "2147483647"])
def test_identifier_reads_canonical_ascii_digits(value: str) -> None:
    assert wire.identifier(value) == int(value)


@pytest.mark.parametrize("value", NOT_IDENTIFIERS, ids=repr)
def test_identifier_refuses_anything_else(value: object) -> None:
    with pytest.raises(wire.Malformed):
        wire.identifier(value)


def test_malformed_is_a_value_error() -> None:
    """So pydantic turns it into a validation error (a 400) where it is a validator."""
    assert issubclass(wire.Malformed, ValueError)


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("007", 7), ("9999999999", 9999999999)])
def test_number_reads_ascii_digits(value: str, expected: int) -> None:
    assert wire.number(value, max_digits=10) == expected


@pytest.mark.parametrize(
    "value", ["", "²", "٣٠", "-1", "1e3", " 1", "1" * 11, 5, None, ["1"]], ids=repr
)
def test_number_refuses_anything_else(value: object) -> None:
    with pytest.raises(wire.Malformed):
        wire.number(value, max_digits=10)


def test_prefixed_identifier_splits_id_and_rest() -> None:
    assert wire.prefixed_identifier("42.abc.def", max_length=80) == (42, "abc.def")
    assert wire.prefixed_identifier("42", max_length=80) == (42, "")


@pytest.mark.parametrize(
    "value", ["².x", "1" * 40 + ".x", "-1.x", ".x", "", "1." + "x" * 80, ["1.x"], 1], ids=repr
)
def test_prefixed_identifier_refuses_anything_else(value: object) -> None:
    with pytest.raises(wire.Malformed):
        wire.prefixed_identifier(value, max_length=80)


@pytest.mark.parametrize("value", ["a", "AZaz09_-", "x" * 32])
def test_token_reads_base64url(value: str) -> None:
    assert wire.token(value, max_length=32) == value


@pytest.mark.parametrize(
    "value", ["", "x" * 33, "a\x00", "a b", "a=", "a.b", "ñ", "a\n", 5, None, ["a"]], ids=repr
)
def test_token_refuses_anything_else(value: object) -> None:
    with pytest.raises(wire.Malformed):
        wire.token(value, max_length=32)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Phone", "Phone"), ("Pho\x00ne\x07\n", "Phone"), ("ÅÄÖ 📱", "ÅÄÖ 📱"), (5, ""), (None, "")],
    ids=repr,
)
def test_printable_keeps_printable_text_only(value: object, expected: str) -> None:
    assert wire.printable(value, 64) == expected
    assert wire.printable("x" * 100, 64) == "x" * 64
