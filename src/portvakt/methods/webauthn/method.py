"""Security keys and passkeys (WebAuthn / FIDO2) with py_webauthn (docs/methods/webauthn.md).

A browser ceremony answers: registration (``navigator.credentials.create``) finishes adding a
key, an assertion (``navigator.credentials.get``) answers a sign-in challenge. Checked here:
the origin and RP ID hash, the single-use challenge (kept server-side, short-lived), user
presence, user verification when the settings require it, and the signature with the stored
public key. Sign counts: 0 staying 0 is normal (most passkeys never count); a count that does
not move forward is refused, the key flagged, and the refusal audited.

Attestation is ``none`` by default. With ``attestation = "required"`` or an AAGUID allow-list,
a registration's attestation must chain to the roots the MDS3 blob gives for its AAGUID;
self-attestation and ``none`` never pass an allow-list."""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from portvakt.context import Context
from portvakt.domain import CredentialView, UserRef
from portvakt.methods.base import (
    NO_ANSWERS,
    Answer,
    Capabilities,
    ChallengeRequest,
    ChallengeState,
    ChallengeView,
    Counter,
    CounterRule,
    EnrollmentStep,
    FactorResponse,
    Issued,
    MethodDefaults,
    Strength,
    Verdict,
)
from portvakt.methods.webauthn import attestation, checks
from portvakt.methods.webauthn.metadata import Metadata, MetadataError, load
from portvakt.methods.webauthn.settings import DEFAULTS, WebAuthnSettings

TRANSPORTS = {t.value for t in AuthenticatorTransport}
HANDLE_BYTES = 32


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class WebAuthnMethod(MethodDefaults):
    kind: ClassVar[str] = "webauthn"
    capabilities: ClassVar[Capabilities] = Capabilities(
        answer=Answer.CEREMONY,
        challenge=True,
        doors=frozenset({"web", "oidc"}),
        strength=Strength.PHISHING_RESISTANT,
        amr=("hwk", "mfa"),
        enroll_fields=("label",),
        first_step=True,
    )
    settings_model: ClassVar[type[BaseModel] | None] = WebAuthnSettings
    metadata: Metadata | None = None

    @property
    def conf(self) -> WebAuthnSettings:
        return self.settings if isinstance(self.settings, WebAuthnSettings) else DEFAULTS

    def configure(self, settings: BaseModel | None) -> None:
        """Keep the settings; load and verify the MDS3 blob once, at start-up."""
        self.settings = settings
        conf = self.conf
        self.metadata = None
        if conf.mds_blob is not None and conf.mds_root is not None:
            try:
                self.metadata = load(conf.mds_blob, conf.mds_root)
            except MetadataError as exc:
                raise RuntimeError(f"WebAuthn metadata: {exc}") from exc

    # -- where the ceremony happens ------------------------------------------------------------

    def rp_id(self, ctx: Context) -> str:
        return self.conf.rp_id or urlsplit(self.origin(ctx)).hostname or "localhost"

    @staticmethod
    def origin(ctx: Context) -> str:
        parts = urlsplit(ctx.base_url or ctx.settings.public_url or "http://localhost")
        return f"{parts.scheme}://{parts.netloc}"

    def _uv(self) -> UserVerificationRequirement:
        return UserVerificationRequirement(self.conf.user_verification)

    def user_handle(self, ctx: Context, user_id: int) -> bytes:
        """The person's handle on their keys: their numeric id (8 bytes) and a MAC of it under
        the server's hash key (24 bytes): never their username; a passkey's answer names the
        person by it, and only this server can make one that checks."""
        mac = ctx.box.keyed_hash(str(user_id).encode(), purpose="webauthn-user")
        return user_id.to_bytes(8, "big") + bytes.fromhex(mac)[:24]

    def identify(self, ctx: Context, resp: FactorResponse) -> int | None:
        """The person a passkey's answer names by its user handle, if the handle checks."""
        handle = ((resp.payload or {}).get("response") or {}).get("userHandle")
        try:
            raw = unb64(handle) if isinstance(handle, str) else b""
        except ValueError:
            return None
        if len(raw) != HANDLE_BYTES:
            return None
        user_id = int.from_bytes(raw[:8], "big")
        return user_id if hmac.compare_digest(raw, self.user_handle(ctx, user_id)) else None

    def first_step_options(self, ctx: Context, challenge: bytes) -> Mapping[str, Any]:
        """Request options for anyone: no credential named (the browser offers the passkeys it
        has for this RP ID, in the username field's autofill), user verification required."""
        options = generate_authentication_options(
            rp_id=self.rp_id(ctx),
            challenge=challenge,
            timeout=self.conf.challenge_seconds * 1000,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return {"options": json.loads(options_to_json(options)), "autocomplete": "webauthn"}

    # -- adding a key ----------------------------------------------------------------------------

    def begin_enrollment(
        self, ctx: Context, user: UserRef, answers: Mapping[str, str] = NO_ANSWERS
    ) -> EnrollmentStep:
        expires = ctx.now() + timedelta(seconds=self.conf.challenge_seconds)
        params = {"challenge": b64(secrets.token_bytes(32)), "expires": expires.isoformat()}
        return EnrollmentStep(secret=None, params=params)

    def enrollment_display(
        self,
        ctx: Context,
        user: UserRef,
        cred: CredentialView,
        *,
        challenge: ChallengeView | None = None,
        app_key: str = "",
    ) -> Mapping[str, Any]:
        wants = self.conf.attestation == "required" or bool(self.conf.allowed_aaguids)
        options = generate_registration_options(
            rp_id=self.rp_id(ctx),
            rp_name=self.conf.rp_name or ctx.settings.issuer,
            user_name=user.username,
            user_id=self.user_handle(ctx, user.id),
            user_display_name=user.display_name or user.username,
            challenge=unb64(str(cred.params.get("challenge", ""))),
            timeout=self.conf.challenge_seconds * 1000,
            attestation=attestation.conveyance(wants),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=self._uv(),
            ),
        )
        return {"options": json.loads(options_to_json(options))}

    def finish_enrollment(
        self, ctx: Context, cred: CredentialView, resp: FactorResponse
    ) -> Verdict:
        if resp.payload is None or not checks.fresh(ctx, cred.params.get("expires")):
            return Verdict(
                ok=False, reason="expired" if resp.payload is not None else "answer_format"
            )
        if checks.framed(resp.payload):
            return Verdict(ok=False, reason="cross_origin")
        try:
            found = attestation.verify(
                payload=resp.payload,
                challenge=unb64(str(cred.params.get("challenge", ""))),
                rp_id=self.rp_id(ctx),
                origin=self.origin(ctx),
                require_uv=self.conf.user_verification == "required",
                metadata=self.metadata,
            )
        except WebAuthnException as exc:
            return Verdict(ok=False, reason="registration_invalid", details=checks.why(exc))
        refusal = attestation.refusal(found, self.conf, self.metadata)
        if refusal is not None:
            return Verdict(ok=False, reason=refusal, details={"aaguid": found.aaguid})
        return Verdict(
            ok=True,
            counter=Counter(found.sign_count, CounterRule.SIGN_COUNT),
            params=found.params(),
            unique=("credential_id", found.credential_id),
        )

    # -- signing in --------------------------------------------------------------------------------

    def challenge(self, ctx: Context, request: ChallengeRequest) -> Issued:
        allowed = [
            PublicKeyCredentialDescriptor(
                id=unb64(str(c.params["credential_id"])),
                transports=[
                    AuthenticatorTransport(t)
                    for t in c.params.get("transports", ())
                    if t in TRANSPORTS
                ]
                or None,
            )
            for c in request.credentials
            if c.params.get("credential_id")
        ]
        raw = secrets.token_bytes(32)
        options = generate_authentication_options(
            rp_id=self.rp_id(ctx),
            challenge=raw,
            timeout=self.conf.challenge_seconds * 1000,
            allow_credentials=allowed,
            user_verification=self._uv(),
        )
        text = options_to_json(options)
        return Issued(
            data={"challenge": b64(raw), "options": text},
            seconds=self.conf.challenge_seconds,
            prompt={"options": json.loads(text)},
        )

    def prompt(self, ctx: Context, challenge: ChallengeView) -> Mapping[str, Any]:
        """The request options again (a page reloaded); the template writes them with
        ``tojson``, which escapes ``<``, ``>`` and ``&``."""
        return {"options": json.loads(str(challenge.data.get("options", "{}")))}

    def answering_credential(
        self,
        challenge: ChallengeView,
        resp: FactorResponse,
        credentials: Sequence[CredentialView],
    ) -> CredentialView | None:
        """The credential the assertion names by its id."""
        named = (resp.payload or {}).get("id")
        if not isinstance(named, str):
            return None
        return next((c for c in credentials if c.params.get("credential_id") == named), None)

    def verify(
        self,
        ctx: Context,
        cred: CredentialView,
        challenge: ChallengeView | None,
        resp: FactorResponse,
    ) -> Verdict:
        if challenge is None or resp.payload is None:
            return Verdict(ok=False, reason="answer_format", challenge=ChallengeState.PENDING)
        early = self._refusal(ctx, cred, resp.payload)
        if early is not None:
            return early
        try:
            checked = verify_authentication_response(
                credential=dict(resp.payload),
                expected_challenge=unb64(str(challenge.data.get("challenge", ""))),
                expected_rp_id=self.rp_id(ctx),
                expected_origin=self.origin(ctx),
                credential_public_key=unb64(str(cred.params.get("public_key", ""))),
                credential_current_sign_count=0,  # compared below, after the signature
                require_user_verification=(
                    self.conf.user_verification == "required" or bool(challenge.data.get("uv"))
                ),
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
            return Verdict(ok=False, reason="assertion_invalid", details=checks.why(exc))
        return checks.counted(cred, checked)

    def _refusal(
        self, ctx: Context, cred: CredentialView, payload: Mapping[str, Any]
    ) -> Verdict | None:
        """Checks py_webauthn leaves to the relying party, before the signature's."""
        if checks.framed(payload):
            return Verdict(ok=False, reason="cross_origin")
        handle = checks.user_handle(payload)
        if handle is not None and handle != self.user_handle(ctx, cred.user_id):
            return Verdict(ok=False, reason="user_handle_mismatch")
        return None

    def normalise_response(self, raw: str) -> str | None:
        return None  # nothing is typed
