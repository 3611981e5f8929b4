"""The FIDO Metadata Service (MDS3) blob, offline: a JWT the operator downloads from
https://mds3.fidoalliance.org/ and keeps beside Portvakt, with the root certificate its signing
chain ends in (FIDO's is GlobalSign Root CA - R3).

Loading verifies the chain in the JWT's ``x5c`` header (each certificate issued by the next,
the last by the root, all valid now) and the JWT's signature with the first certificate's key;
anything else stops the start with a message. What is kept per authenticator model (AAGUID):
its description (the name shown on Security info), the attestation root certificates a
registration's attestation must chain to, and whether FIDO reports it compromised or revoked.
Certificate revocation lists are not fetched (offline); refresh the blob as FIDO publishes."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

# Status reports after which an authenticator model is no longer trusted
UNTRUSTED = frozenset(
    {
        "REVOKED",
        "ATTESTATION_KEY_COMPROMISE",
        "USER_KEY_REMOTE_COMPROMISE",
        "USER_KEY_PHYSICAL_COMPROMISE",
        "USER_VERIFICATION_BYPASS",
    }
)
MAX_BYTES = 64 * 1024 * 1024
_SHA256 = hashes.SHA256()


class MetadataError(ValueError):
    """The blob or its root cannot be trusted (said in the message)."""


@dataclass(frozen=True, slots=True)
class Model:
    """One authenticator model (AAGUID) as the blob describes it."""

    aaguid: str
    name: str
    roots: tuple[bytes, ...]  # PEM attestation root certificates
    trusted: bool  # no compromise or revocation reported


@dataclass(frozen=True, slots=True)
class Metadata:
    models: Mapping[str, Model]
    serial: int
    next_update: str

    def get(self, aaguid: str) -> Model | None:
        return self.models.get(aaguid.lower())


def load(blob: Path, root: Path, *, now: datetime | None = None) -> Metadata:
    """The verified blob; ``MetadataError`` when it cannot be trusted."""
    try:
        text = blob.read_bytes()[:MAX_BYTES].decode("ascii").strip()
        anchor = x509.load_pem_x509_certificate(root.read_bytes())
    except (OSError, ValueError) as exc:
        raise MetadataError(f"cannot read the metadata files: {exc}") from exc
    header = _header(text)
    chain = _chain(header)
    _verify_chain(chain, anchor, now or datetime.now(UTC))
    payload = _verified_payload(text, chain[0])
    return Metadata(
        models=_models(payload.get("entries", [])),
        serial=int(payload.get("no", 0)),
        next_update=str(payload.get("nextUpdate", "")),
    )


def _header(text: str) -> dict[str, Any]:
    parts = text.split(".")
    if len(parts) != 3:
        raise MetadataError("the metadata blob is not a JWT")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except ValueError as exc:
        raise MetadataError("the metadata blob's header is not JSON") from exc
    if not isinstance(header, dict):
        raise MetadataError("the metadata blob's header is not an object")
    return header


def _chain(header: Mapping[str, Any]) -> list[x509.Certificate]:
    found = header.get("x5c")
    if not isinstance(found, list) or not found:
        raise MetadataError("the metadata blob names no signing certificate (x5c)")
    try:
        return [x509.load_der_x509_certificate(base64.b64decode(c)) for c in found]
    except (ValueError, TypeError) as exc:
        raise MetadataError("a certificate in the blob's x5c cannot be read") from exc


def _verify_chain(chain: list[x509.Certificate], anchor: x509.Certificate, now: datetime) -> None:
    """Each certificate issued by the next, the last by ``anchor`` (or ``anchor`` itself), and
    every one valid at ``now``."""
    if chain[-1].fingerprint(_SHA256) != anchor.fingerprint(_SHA256):
        chain = [*chain, anchor]
    for cert, issuer in itertools.pairwise(chain):
        try:
            cert.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise MetadataError("the blob's certificate chain does not verify") from exc
    for cert in chain:
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise MetadataError(
                f"a certificate of the blob's chain is not valid now: {cert.subject}"
            )


def _verified_payload(text: str, leaf: x509.Certificate) -> dict[str, Any]:
    pem = leaf.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        key: RSAKey | ECKey = RSAKey.import_key(pem)
    except (JoseError, ValueError):
        key = ECKey.import_key(pem)
    registry = jws.JWSRegistry(algorithms=["RS256", "ES256", "PS256"])
    # the blob's header carries its certificate chain, its payload every model: a few MB
    registry.max_header_length = 64 * 1024
    registry.max_payload_length = MAX_BYTES
    registry.max_signature_length = 4096
    try:
        signed = jws.deserialize_compact(text, key, registry=registry)
        payload = json.loads(signed.payload)
    except (JoseError, ValueError) as exc:
        raise MetadataError("the metadata blob's signature does not verify") from exc
    if not isinstance(payload, dict):
        raise MetadataError("the metadata blob's payload is not an object")
    return payload


def _models(entries: Any) -> dict[str, Model]:
    models: dict[str, Model] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("aaguid"), str):
            continue  # U2F-only and UAF entries are named by other ids
        statement = entry.get("metadataStatement") or {}
        roots = tuple(
            _pem(c) for c in statement.get("attestationRootCertificates", []) if isinstance(c, str)
        )
        reports = entry.get("statusReports") or []
        status = {r.get("status") for r in reports if isinstance(r, dict)}
        aaguid = entry["aaguid"].lower()
        models[aaguid] = Model(
            aaguid=aaguid,
            name=str(statement.get("description", ""))[:128],
            roots=roots,
            trusted=not (status & UNTRUSTED),
        )
    return models


def _pem(der_b64: str) -> bytes:
    body = "\n".join(der_b64[i : i + 64] for i in range(0, len(der_b64), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n".encode()
