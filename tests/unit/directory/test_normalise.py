"""``normalise_username``: NFKC + casefold, allowed characters, 1–64 characters."""

from __future__ import annotations

import pytest

from portvakt.directory.base import MAX_USERNAME, normalise_phone, normalise_username
from portvakt.errors import Invalid

ACCEPTED = [
    pytest.param("alice", "alice", id="plain"),
    pytest.param("Alice", "alice", id="case"),
    pytest.param("  bob\t", "bob", id="trimmed"),
    pytest.param("ÅSE", "åse", id="nordic-upper"),
    pytest.param("Straße", "strasse", id="casefold-sharp-s"),
    pytest.param("ＡＬＩＣＥ", "alice", id="fullwidth"),
    pytest.param("ﬁona", "fiona", id="ligature"),
    pytest.param("\u212aim", "kim", id="kelvin-sign"),
    pytest.param("e\u0301mile", "\u00e9mile", id="combining-accent-composed"),
    pytest.param("\u01f0ava", "\u01f0ava", id="casefold-then-recompose"),
    pytest.param("o'brien", "o'brien", id="apostrophe"),
    pytest.param("First.Last_x-y@Example.org+tag", "first.last_x-y@example.org+tag", id="punct"),
    pytest.param("user²", "user2", id="superscript"),
    pytest.param("Ωμέγα", "ωμέγα", id="greek"),
    pytest.param("x" * MAX_USERNAME, "x" * MAX_USERNAME, id="max-length"),
]


@pytest.mark.parametrize(("raw", "want"), ACCEPTED)
def test_normalise_username_folds_to_canonical_form(raw: str, want: str) -> None:
    """One person, one name: NFKC, case-folded, trimmed (and NFKC again after folding)."""
    assert normalise_username(raw) == want


@pytest.mark.parametrize(("raw", "want"), ACCEPTED)
def test_normalise_username_is_idempotent(raw: str, want: str) -> None:
    """A stored name normalises to itself, so look-ups by the stored name still match."""
    assert normalise_username(normalise_username(raw)) == normalise_username(raw)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("a b", id="inner-space"),
        pytest.param("a\u00a0b", id="nbsp"),
        pytest.param("a/b", id="slash"),
        pytest.param("a;b", id="semicolon"),
        pytest.param("a:b", id="colon"),
        pytest.param("<script>", id="markup"),
        pytest.param("a\x00b", id="nul"),
        pytest.param("a\tb", id="tab"),
        pytest.param("ab\u200b", id="zero-width-space"),
        pytest.param("a\u202eb", id="bidi-override"),
        pytest.param("x" * (MAX_USERNAME + 1), id="too-long"),
        pytest.param("\ufb03" * 22, id="too-long-after-nfkc"),
        pytest.param("a*", id="asterisk"),
        pytest.param("%61", id="percent"),
    ],
)
def test_normalise_username_rejects_invalid_name(raw: str) -> None:
    """Only letters, digits and ``._-@+'``, 1–64 characters after normalisation."""
    with pytest.raises(Invalid) as caught:
        normalise_username(raw)
    assert caught.value.code == "invalid_username"


def test_normalise_username_maps_lookalike_spellings_to_one_name() -> None:
    """Fullwidth, ligature and case variants cannot create a second account."""
    spellings = ["fiona", "FIONA", "ﬁona", "ＦＩＯＮＡ", " Fiona "]
    assert {normalise_username(s) for s in spellings} == {"fiona"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+47 912 34 567", "+4791234567"), ("+1 (202) 555-0100", "+12025550100")],
)
def test_normalise_phone_gives_e164(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["91234567", "+999123", "phone", "+47 1", ""])
def test_normalise_phone_refuses_numbers_without_country_or_impossible(raw: str) -> None:
    with pytest.raises(Invalid, match="invalid_phone"):
        normalise_phone(raw)
