"""The method contract (docs/extend.md): a mixin every registered kind's tests subclass with a
small driver that knows how to enrol a credential and make a right and a wrong answer. It
checks what the core relies on: enrolment round trip, ``verify`` never mutates, a replayed
answer is refused once its state change is applied, secrets stay out of ``repr``, params and
logs, capabilities are consistent, a wrong answer has a stable reason."""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import replace
from typing import Any, ClassVar

import pytest

from portvakt.context import Context
from portvakt.domain import ChallengeView, CredentialState, CredentialView, Door
from portvakt.methods.base import Answer, CounterRule, FactorResponse, Method, Verdict

REASON = re.compile(r"^[a-z][a-z_]{1,31}$")


class MethodContract:
    """Subclass and implement the driver methods; ``method`` and ``ctx`` are fixtures."""

    kind: ClassVar[str]

    # -- the driver ------------------------------------------------------------------------------

    def enrolled(self, method: Method, ctx: Context) -> CredentialView:
        """An active credential of this kind, with its secret opened."""
        raise NotImplementedError

    def pending(self, method: Method, ctx: Context) -> tuple[CredentialView, FactorResponse]:
        """A pending credential from ``begin_enrollment`` and the answer that finishes it."""
        raise NotImplementedError

    def challenge(self, method: Method, ctx: Context, cred: CredentialView) -> ChallengeView | None:
        """A stored challenge for ``cred`` (None for kinds that issue none)."""
        return None

    def right(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        raise NotImplementedError

    def wrong(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        raise NotImplementedError

    def secrets(self, cred: CredentialView) -> list[str]:
        """Text forms of the credential's secret that must never be shown."""
        secret = cred.secret or b""
        return [text for text in (secret.hex(), secret.decode("latin-1")) if len(text) >= 6]

    # -- what the core does with a verdict ---------------------------------------------------------

    @staticmethod
    def applied(
        cred: CredentialView, challenge: ChallengeView | None, verdict: Verdict
    ) -> tuple[CredentialView, ChallengeView | None]:
        """The credential and challenge after the core applied ``verdict`` (core.factor,
        core.challenges)."""
        if verdict.counter is not None:
            stays = verdict.counter.rule is CounterRule.SIGN_COUNT and verdict.counter.value == 0
            if not stays:
                cred = replace(cred, counter=verdict.counter.value)
        if verdict.consumed is not None:
            used = [*cred.params.get("used", []), verdict.consumed]
            cred = replace(cred, params={**cred.params, "used": used})
        if verdict.params is not None:
            cred = replace(cred, params=dict(verdict.params))
        if challenge is not None:
            challenge = replace(challenge, state=verdict.challenge_state)
        return cred, challenge

    # -- the contract ------------------------------------------------------------------------------

    def test_the_kind_and_capabilities_are_consistent(self, method: Method) -> None:
        caps = method.capabilities
        assert method.kind == self.kind and re.match(r"^[a-z][a-z0-9_]{1,23}$", method.kind)
        assert caps.amr and caps.doors and caps.doors <= {d.value for d in Door}
        assert (caps.answer is Answer.CODE) == (caps.code is not None)
        if caps.code is not None:
            assert 0 < caps.code.min_length <= caps.code.max_length <= 256

    def test_enrolment_round_trip(self, method: Method, ctx: Context) -> None:
        cred, first = self.pending(method, ctx)
        assert cred.state is CredentialState.PENDING
        verdict = method.finish_enrollment(ctx, cred, first)
        assert verdict.ok, verdict.reason

    def test_an_enrolled_credential_is_usable(self, method: Method, ctx: Context) -> None:
        assert method.usable(ctx, self.enrolled(method, ctx))

    def test_a_right_answer_is_accepted(self, method: Method, ctx: Context) -> None:
        cred = self.enrolled(method, ctx)
        challenge = self.challenge(method, ctx, cred)
        verdict = method.verify(ctx, cred, challenge, self.right(method, ctx, cred, challenge))
        assert verdict.ok, verdict.reason

    def test_verify_never_mutates_its_inputs(self, method: Method, ctx: Context) -> None:
        cred = self.enrolled(method, ctx)
        challenge = self.challenge(method, ctx, cred)
        for response in (
            self.right(method, ctx, cred, challenge),
            self.wrong(method, ctx, cred, challenge),
        ):
            before = copy.deepcopy((cred, challenge, response))
            method.verify(ctx, cred, challenge, response)
            assert (cred, challenge, response) == before

    def test_a_replayed_answer_is_refused(self, method: Method, ctx: Context) -> None:
        cred = self.enrolled(method, ctx)
        challenge = self.challenge(method, ctx, cred)
        response = self.right(method, ctx, cred, challenge)
        verdict = method.verify(ctx, cred, challenge, response)
        assert verdict.ok
        cred, challenge = self.applied(cred, challenge, verdict)
        again = method.verify(ctx, cred, challenge, response)
        assert not again.ok and REASON.match(again.reason), again

    def test_a_wrong_answer_is_refused_with_a_stable_reason(
        self, method: Method, ctx: Context
    ) -> None:
        cred = self.enrolled(method, ctx)
        challenge = self.challenge(method, ctx, cred)
        verdict = method.verify(ctx, cred, challenge, self.wrong(method, ctx, cred, challenge))
        assert not verdict.ok and REASON.match(verdict.reason), verdict
        assert verdict.counter is None and verdict.consumed is None

    def test_secrets_stay_out_of_repr_params_and_logs(
        self, method: Method, ctx: Context, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        step = method.begin_enrollment(ctx, self.user())
        cred = self.enrolled(method, ctx)
        challenge = self.challenge(method, ctx, cred)
        method.verify(ctx, cred, challenge, self.right(method, ctx, cred, challenge))
        method.verify(ctx, cred, challenge, self.wrong(method, ctx, cred, challenge))
        shown: list[Any] = [repr(step), repr(cred), repr(step.params), repr(cred.params)]
        shown.append(caplog.text)
        forms = self.secrets(cred)
        if step.secret:
            forms += self.secrets(replace(cred, secret=step.secret))
        for text in shown:
            for secret in forms:
                assert secret not in text

    def user(self) -> Any:
        from portvakt.domain import UserRef

        return UserRef(id=7, username="alice", display_name="Alice")
