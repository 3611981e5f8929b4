"""Recovery codes: ten single-use codes, shown once, for a person who lost their other methods
(docs/methods/recovery.md).

Each code is 10 characters of base32 (50 bits). Only keyed hashes are kept (HMAC-SHA256 with
the server's hash key, bound to the person), so a database without the key file reveals
nothing; while the set is being added the codes themselves are sealed with the credential, to
show them until the person confirms, and dropped then. A code used is kept in
``params["used"]`` by its position, so it never works again and the person sees how many are
left. Making a new set replaces the old one (``Capabilities.one_per_person``).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from portvakt.context import Context
from portvakt.domain import CredentialView, UserRef
from portvakt.methods.base import (
    NO_ANSWERS,
    Answer,
    Capabilities,
    ChallengeView,
    CodeShape,
    EnrollmentStep,
    FactorResponse,
    MethodDefaults,
    Strength,
    Verdict,
)

COUNT = 10  # codes in a set
LENGTH = 10  # characters a code (base32: 5 bits each)
ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
FEW = 3  # at or below this many left, the person is asked to make new ones


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def shown(code: str) -> str:
    """``abcde-fghij``: as printed and downloaded."""
    return f"{code[:5]}-{code[5:]}"


def remaining(cred: CredentialView) -> int:
    return len(cred.params.get("hashes", ())) - len(cred.params.get("used", ()))


class RecoveryMethod(MethodDefaults):
    kind: ClassVar[str] = "recovery"
    capabilities: ClassVar[Capabilities] = Capabilities(
        answer=Answer.CODE,
        code=CodeShape(
            pattern="[a-z2-7]{10}",
            min_length=LENGTH,
            max_length=16,
            numeric=False,
        ),
        doors=frozenset({"web", "api", "oidc", "radius"}),
        strength=Strength.STRONG,
        amr=("otp",),
        fallback=True,
        one_per_person=True,
    )

    @staticmethod
    def digest(ctx: Context, user_id: int, code: str) -> str:
        return ctx.box.keyed_hash(f"{user_id}:{code}".encode(), purpose="recovery-code")

    def begin_enrollment(
        self, ctx: Context, user: UserRef, answers: Mapping[str, str] = NO_ANSWERS
    ) -> EnrollmentStep:
        codes = [new_code() for _ in range(COUNT)]
        hashes = [self.digest(ctx, user.id, code) for code in codes]
        return EnrollmentStep(secret="\n".join(codes).encode(), params={"hashes": hashes})

    def enrollment_display(
        self,
        ctx: Context,
        user: UserRef,
        cred: CredentialView,
        *,
        challenge: ChallengeView | None = None,
        app_key: str = "",
    ) -> Mapping[str, Any]:
        """The codes, once: as a list, and as a text file to download."""
        if cred.secret is None:
            raise ValueError("a pending set of recovery codes without its codes")
        codes = [shown(code) for code in cred.secret.decode().split("\n")]
        text = "\n".join([f"{ctx.settings.issuer}: {user.username}", "", *codes, ""])
        return {"codes": codes, "download": "data:text/plain;charset=utf-8," + quote(text)}

    def normalise_response(self, raw: str) -> str | None:
        cleaned = raw.replace(" ", "").replace("-", "").strip().lower()
        if len(cleaned) != LENGTH or not all(c in ALPHABET for c in cleaned):
            return None
        return cleaned

    def _position(self, ctx: Context, cred: CredentialView, code: str) -> int | None:
        wanted = self.digest(ctx, cred.user_id, code)
        found = None
        for at, stored in enumerate(cred.params.get("hashes", ())):
            if hmac.compare_digest(str(stored), wanted):
                found = at
        return found

    def finish_enrollment(
        self, ctx: Context, cred: CredentialView, resp: FactorResponse
    ) -> Verdict:
        """One of the new codes, typed back, shows they were saved; it stays usable."""
        if self._position(ctx, cred, resp.code) is None:
            return Verdict(ok=False, reason="wrong_code")
        return Verdict(ok=True, forget_secret=True)

    def verify(
        self,
        ctx: Context,
        cred: CredentialView,
        challenge: ChallengeView | None,
        resp: FactorResponse,
    ) -> Verdict:
        at = self._position(ctx, cred, resp.code)
        if at is None:
            return Verdict(ok=False, reason="wrong_code")
        if str(at) in cred.params.get("used", ()):
            return Verdict(ok=False, reason="replay")
        left = remaining(cred) - 1
        return Verdict(ok=True, consumed=str(at), details={"remaining": left})
