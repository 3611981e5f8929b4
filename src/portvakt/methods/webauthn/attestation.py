"""A registration's attestation against the policy: which authenticator model made the key
(its AAGUID), whether that claim is *verified* (an attestation certificate chain that ends in a
root the MDS3 blob gives for that AAGUID), and whether the settings accept it.

Only a verified attestation passes an AAGUID allow-list: ``none`` attestation and
self-attestation (a packed statement without a certificate, signed by the new key itself)
claim whatever AAGUID they like, so they never do (compare Keycloak CVE-2026-6856)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from webauthn import verify_registration_response
from webauthn.helpers import parse_attestation_object, parse_registration_credential_json
from webauthn.helpers.aaguid_to_string import aaguid_to_string
from webauthn.helpers.exceptions import InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AttestationFormat,
    AuthenticatorTransport,
)

from portvakt.methods.webauthn.checks import MAX_CREDENTIAL_ID
from portvakt.methods.webauthn.metadata import Metadata
from portvakt.methods.webauthn.settings import WebAuthnSettings

TRANSPORTS = {t.value for t in AuthenticatorTransport}
FIDO_AAGUID = x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4")  # id-fido-gen-ce-aaguid


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def conveyance(wanted: bool) -> AttestationConveyancePreference:
    """``direct`` when the policy looks at attestation, else ``none`` (privacy: the browser
    then strips it)."""
    return (
        AttestationConveyancePreference.DIRECT if wanted else AttestationConveyancePreference.NONE
    )


@dataclass(frozen=True, slots=True)
class Registered:
    """A verified registration: the new key and what is known of its maker."""

    credential_id: str
    public_key: str
    sign_count: int
    aaguid: str
    fmt: str
    attested: bool  # the attestation chain was verified against the MDS roots of the AAGUID
    trusted_model: bool  # the MDS reports no compromise of the model (True when unknown)
    name: str  # the model's name from the MDS, when known
    transports: tuple[str, ...]
    user_verified: bool
    backed_up: bool
    device_type: str

    def params(self) -> dict[str, Any]:
        return {
            "credential_id": self.credential_id,
            "public_key": self.public_key,
            "aaguid": self.aaguid,
            "fmt": self.fmt,
            "attested": self.attested,
            "model": self.name,
            "transports": list(self.transports),
            "uv": self.user_verified,
            "backed_up": self.backed_up,
            "device_type": self.device_type,
        }


def verify(
    *,
    payload: Mapping[str, Any],
    challenge: bytes,
    rp_id: str,
    origin: str,
    require_uv: bool,
    metadata: Metadata | None,
) -> Registered:
    """Verify the registration; ``WebAuthnException`` when it does not verify."""
    credential = parse_registration_credential_json(dict(payload))
    parsed = parse_attestation_object(credential.response.attestation_object)
    data = parsed.auth_data.attested_credential_data
    aaguid = aaguid_to_string(data.aaguid) if data is not None else ""
    model = metadata.get(aaguid) if metadata is not None and aaguid else None
    chain = parsed.att_stmt.x5c or []
    has_chain = parsed.fmt != AttestationFormat.NONE and bool(chain)
    roots = list(model.roots) if model is not None and has_chain else []
    checked = verify_registration_response(
        credential=credential,
        expected_challenge=challenge,
        expected_rp_id=rp_id,
        expected_origin=origin,
        require_user_verification=require_uv,
        pem_root_certs_bytes_by_fmt={parsed.fmt: roots} if roots else None,
    )
    if len(checked.credential_id) > MAX_CREDENTIAL_ID:
        raise InvalidRegistrationResponse("the credential id is longer than 1,023 bytes")
    if has_chain and not _same_model(chain[0], data.aaguid if data else b""):
        raise InvalidRegistrationResponse("the attestation certificate names another AAGUID")
    transports = payload.get("response", {}).get("transports", [])
    return Registered(
        credential_id=_b64(checked.credential_id),
        public_key=_b64(checked.credential_public_key),
        sign_count=checked.sign_count,
        aaguid=checked.aaguid,
        fmt=str(checked.fmt.value if hasattr(checked.fmt, "value") else checked.fmt),
        attested=bool(roots),  # py_webauthn checked the chain against exactly these roots
        trusted_model=model.trusted if model is not None else True,
        name=model.name if model is not None else "",
        transports=tuple(t for t in transports if isinstance(t, str) and t in TRANSPORTS)[:6],
        user_verified=checked.user_verified,
        backed_up=checked.credential_backed_up,
        device_type=str(getattr(checked.credential_device_type, "value", "")),
    )


def _same_model(cert_der: bytes, aaguid: bytes) -> bool:
    """A certificate that names an AAGUID (id-fido-gen-ce-aaguid) names this one."""
    cert = x509.load_der_x509_certificate(cert_der)
    try:
        named = cert.extensions.get_extension_for_oid(FIDO_AAGUID).value
    except x509.ExtensionNotFound:
        return True
    value = named.value if isinstance(named, x509.UnrecognizedExtension) else b""
    return value[2:] == aaguid and value[:2] == b"\x04\x10"


def refusal(found: Registered, conf: WebAuthnSettings, metadata: Metadata | None) -> str | None:
    """Why the policy refuses this key, or None."""
    if not found.trusted_model:
        return "authenticator_compromised"
    if conf.attestation == "required" and not found.attested:
        return "attestation_not_verified"
    if conf.allowed_aaguids and (not found.attested or found.aaguid not in conf.allowed_aaguids):
        return "authenticator_not_allowed"
    return None
