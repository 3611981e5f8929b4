"""The method interface's own rules (methods/base.py) and the registry's settings, folders and
kinds (methods/registry.py)."""

from __future__ import annotations

from typing import ClassVar, cast

import pytest
from pydantic import BaseModel, ConfigDict

from portvakt.domain import Door
from portvakt.methods.base import (
    Answer,
    Capabilities,
    ChallengeState,
    CodeShape,
    Grant,
    Method,
    MethodDefaults,
    Strength,
    Verdict,
)
from portvakt.methods.push import PushMethod
from portvakt.methods.registry import BUILT_IN, Registry
from portvakt.methods.totp import TotpMethod


def test_a_code_shape_has_sane_lengths() -> None:
    with pytest.raises(ValueError, match="min_length"):
        CodeShape(pattern="[0-9]+", min_length=9, max_length=8)
    with pytest.raises(ValueError, match="min_length"):
        CodeShape(pattern="[0-9]+", max_length=300)


def test_a_typed_answer_needs_a_code_shape_and_only_then() -> None:
    common = {"doors": frozenset({"web"}), "strength": Strength.STRONG, "amr": ("otp",)}
    with pytest.raises(ValueError, match="code shape"):
        Capabilities(answer=Answer.CODE, **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="code shape"):
        Capabilities(answer=Answer.NONE, code=CodeShape("x", 1), **common)  # type: ignore[arg-type]
    assert Capabilities(answer=Answer.NONE, **common).interactive is False  # type: ignore[arg-type]


def test_a_verdict_says_the_challenge_state_by_default() -> None:
    assert Verdict(ok=True).challenge_state is ChallengeState.APPROVED
    assert Verdict(ok=False).challenge_state is ChallengeState.FAILED
    assert (
        Verdict(ok=False, challenge=ChallengeState.DENIED).challenge_state is ChallengeState.DENIED
    )


class Bare(MethodDefaults):
    kind: ClassVar[str] = "bare"


def test_the_defaults_issue_no_challenge_and_verify_nothing() -> None:
    method = Bare()
    method.configure(None)
    assert method.settings is None
    with pytest.raises(NotImplementedError):
        method.challenge(None, None)  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError):
        method.finish_enrollment(None, None, None)  # type: ignore[arg-type]
    assert method.prompt(None, None) == {}  # type: ignore[arg-type]


class Settled(TotpMethod):
    kind: ClassVar[str] = "settled"

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        period: int = 30

    settings_model = Config


def test_method_settings_are_validated_and_given_to_the_method() -> None:
    registry = Registry((cast(type[Method], Settled),), {"settled": {"period": 60}})
    method = registry.get("settled")
    assert isinstance(method, Settled) and method.settings == Settled.Config(period=60)
    assert Registry((cast(type[Method], Settled),)).get("settled").settings == Settled.Config()


@pytest.mark.parametrize(
    ("classes", "settings", "message"),
    [
        ((Settled,), {"settled": {"period": "soon"}}, "settings of the settled method"),
        ((Settled,), {"settled": {"colour": "red"}}, "settings of the settled method"),
        ((Bare,), {"bare": {"window": 2}}, "takes no settings"),
        ((TotpMethod,), {"voice": {}}, "unknown methods: voice"),
    ],
)
def test_bad_method_settings_stop_the_start(
    classes: tuple[type[TotpMethod], ...], settings: dict[str, dict[str, object]], message: str
) -> None:
    with pytest.raises(RuntimeError, match=message):
        Registry(cast(tuple[type[Method], ...], classes), settings)


class Shouting(TotpMethod):
    kind: ClassVar[str] = "TOTP2"


def test_a_kind_is_a_short_lower_case_name() -> None:
    with pytest.raises(RuntimeError, match="lower-case"):
        Registry((Shouting,))


def test_the_registry_finds_code_kinds_templates_and_static_files() -> None:
    registry = Registry(BUILT_IN)
    codes = ("totp", "recovery", "oath", "yubiotp")
    assert registry.code_kinds(Door.API.value) == codes
    assert registry.code_kinds(Door.RADIUS.value) == codes
    assert registry.code_kinds(Door.WEB.value) == ("totp", "recovery", "tap", "oath", "yubiotp")
    assert set(registry.template_folders()) == set(registry.kinds())  # every built-in has some
    assert {"recovery", "webauthn"} <= set(registry.static_folders())
    assert registry.token_kinds() == ("oath", "yubiotp")
    assert registry.importer("pskc") == registry.importer("csv") == "oath"
    assert registry.importer("yubico-csv") == "yubiotp" and registry.importer("x") is None
    assert registry.max_code_length(Door.WEB.value) == 80  # a YubiKey OTP with spaces
    assert registry.ordered(["totp", "recovery", "push"]) == ["push", "totp", "recovery"]
    assert registry.is_fallback("recovery") and not registry.is_fallback("nope")
    assert PushMethod.capabilities.challenge and not TotpMethod.capabilities.challenge
    assert registry.issued_kind() == "tap" and Registry((TotpMethod,)).issued_kind() is None
    assert registry.grants("tap") is Grant.ENROLLMENT and registry.grants("totp") is Grant.FULL
    assert registry.grants("nope") is Grant.ENROLLMENT


def test_a_kind_an_operator_issues_is_not_one_people_add() -> None:
    with pytest.raises(ValueError, match="operator"):
        Capabilities(
            answer=Answer.NONE,
            doors=frozenset({"web"}),
            strength=Strength.STRONG,
            amr=("otp",),
            issued_by_operator=True,
        )


def test_methods_without_operator_issue_refuse_it() -> None:
    with pytest.raises(NotImplementedError):
        TotpMethod().issue(None, None, hours=1, uses=1)  # type: ignore[arg-type]
