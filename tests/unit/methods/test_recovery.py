"""Recovery codes' pure parts: the codes, their keyed hashes, the one-time display."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import pytest

from portvakt.context import Context
from portvakt.crypto.secretbox import KeyRing
from portvakt.domain import CredentialState, CredentialView, Door, UserRef
from portvakt.methods.base import FactorResponse
from portvakt.methods.recovery import RecoveryMethod
from portvakt.methods.recovery.method import ALPHABET, COUNT, remaining, shown

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
ALICE = UserRef(id=7, username="alice", display_name="Alice")


class _Clock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    from portvakt.settings import Settings

    box = KeyRing({"k1": bytes(32)}, "k1")
    return Context(Settings(data_dir=tmp_path, issuer="Example Uni"), _Clock(), box, Door.WEB)


def _pending(ctx: Context, user: UserRef = ALICE) -> tuple[CredentialView, list[str]]:
    step = RecoveryMethod().begin_enrollment(ctx, user)
    assert step.secret is not None
    cred = CredentialView(
        1,
        user.id,
        "recovery",
        "",
        CredentialState.PENDING,
        False,
        dict(step.params),
        NOW,
        None,
        secret=step.secret,
    )
    return cred, step.secret.decode().split("\n")


def test_a_set_is_ten_distinct_50_bit_codes_kept_only_as_keyed_hashes(ctx: Context) -> None:
    cred, codes = _pending(ctx)
    assert len(codes) == COUNT == len(set(codes))
    assert all(len(code) == 10 and set(code) <= set(ALPHABET) for code in codes)
    assert len(cred.params["hashes"]) == COUNT
    assert not any(code in str(cred.params) for code in codes)
    assert remaining(cred) == COUNT


def test_the_display_lists_the_codes_and_a_file_to_download(ctx: Context) -> None:
    cred, codes = _pending(ctx)
    display = RecoveryMethod().enrollment_display(ctx, ALICE, cred)
    assert display["codes"] == [shown(code) for code in codes]
    text = unquote(display["download"].split(",", 1)[1])
    assert text.startswith("Example Uni: alice\n") and all(shown(c) in text for c in codes)
    with pytest.raises(ValueError, match="without its codes"):
        RecoveryMethod().enrollment_display(ctx, ALICE, replace(cred, secret=None))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ABCDE-FGH23", "abcdefgh23"),
        (" abcde fgh23 ", "abcdefgh23"),
        ("abcde-fgh2", None),
        ("abcde-fgh218", None),  # 1 and 8 are not base32
        ("123456", None),  # a TOTP code is not tried as a recovery code
    ],
)
def test_codes_are_read_in_any_case_with_spaces_or_dashes(raw: str, expected: str | None) -> None:
    assert RecoveryMethod().normalise_response(raw) == expected


def test_typing_one_back_finishes_the_set_and_forgets_the_codes(ctx: Context) -> None:
    cred, codes = _pending(ctx)
    method = RecoveryMethod()
    done = method.finish_enrollment(ctx, cred, FactorResponse(code=codes[2]))
    assert done.ok and done.forget_secret and done.consumed is None
    wrong = method.finish_enrollment(ctx, cred, FactorResponse(code="a" * 10))
    assert not wrong.ok and wrong.reason == "wrong_code"


def test_each_code_works_once_and_only_for_its_person(ctx: Context) -> None:
    cred, codes = _pending(ctx)
    active = replace(cred, state=CredentialState.ACTIVE, secret=None)
    method = RecoveryMethod()
    first = method.verify(ctx, active, None, FactorResponse(code=codes[9]))
    assert first.ok and first.consumed == "9" and first.details == {"remaining": 9}
    used = replace(active, params={**active.params, "used": ["9"]})
    assert remaining(used) == 9
    again = method.verify(ctx, used, None, FactorResponse(code=codes[9]))
    assert (again.ok, again.reason) == (False, "replay")
    bob = replace(active, user_id=8)  # the same hashes copied onto another person's row
    assert method.verify(ctx, bob, None, FactorResponse(code=codes[0])).reason == "wrong_code"
