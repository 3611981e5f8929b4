"""A software FIDO2 authenticator for API-level tests: it builds the exact bytes a security key
would (CBOR attestation objects, authenticator data, ES256 signatures over them), so the real
py_webauthn checks run against them, and lets a test bend one thing at a time (origin, RP ID,
challenge, sign count, flags, attestation format and certificate)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

UP, UV, BE, AT = 0x01, 0x04, 0x08, 0x40
FIDO_AAGUID_OID = x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _name(common: str, unit: str = "Authenticator Attestation") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NO"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Portvakt Test Keys"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


@dataclass
class Vendor:
    """A test key maker: a root CA and an attestation certificate it issued for one AAGUID."""

    aaguid: bytes = field(default_factory=lambda: os.urandom(16))
    root_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    att_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def __post_init__(self) -> None:
        now = datetime.now(UTC)
        self.root = (
            x509.CertificateBuilder()
            .subject_name(_name("Test Root", "Root"))
            .issuer_name(_name("Test Root", "Root"))
            .public_key(self.root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.root_key, hashes.SHA256())
        )
        self.cert = self.attestation_cert(self.aaguid)

    def attestation_cert(self, aaguid: bytes | None) -> x509.Certificate:
        """The maker's attestation certificate, naming ``aaguid`` (None: naming no model)."""
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name("Test Key Attestation"))
            .issuer_name(self.root.subject)
            .public_key(self.att_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if aaguid is not None:
            named = x509.UnrecognizedExtension(FIDO_AAGUID_OID, b"\x04\x10" + aaguid)
            builder = builder.add_extension(named, critical=False)
        return builder.sign(self.root_key, hashes.SHA256())

    @property
    def aaguid_text(self) -> str:
        h = self.aaguid.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def root_pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)

    def root_b64(self) -> str:
        return base64.b64encode(self.root.public_bytes(serialization.Encoding.DER)).decode()


@dataclass
class SoftKey:
    """One credential on a software authenticator."""

    origin: str = "http://testserver"
    rp_id: str = "testserver"
    aaguid: bytes = bytes(16)
    counts: bool = True  # False: a passkey whose sign count stays 0
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    count: int = 0
    user_handle: bytes = b""  # from the registration options: a passkey names its person

    @property
    def id(self) -> str:
        return b64(self.credential_id)

    def cose(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _auth_data(self, *, rp_id: str | None, flags: int, count: int, attested: bool) -> bytes:
        data = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        data += bytes([flags]) + count.to_bytes(4, "big")
        if attested:
            data += self.aaguid + len(self.credential_id).to_bytes(2, "big")
            data += self.credential_id + self.cose()
        return data

    def _client_data(
        self, kind: str, challenge: str, origin: str | None, extra: dict[str, Any] | None = None
    ) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        return json.dumps({**data, **(extra or {})}).encode()

    def register(
        self,
        options: dict[str, Any],
        *,
        fmt: str = "none",
        vendor: Vendor | None = None,
        cert: x509.Certificate | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        uv: bool = True,
        client_data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``navigator.credentials.create``: fmt ``none``, ``self`` (packed self-attestation) or
        ``packed`` (signed by ``vendor``'s attestation key, with its certificate)."""
        self.user_handle = unb64(options["user"]["id"])
        client = self._client_data("webauthn.create", options["challenge"], origin, client_data)
        flags = UP | AT | (UV if uv else 0)
        auth = self._auth_data(rp_id=rp_id, flags=flags, count=0, attested=True)
        signed = auth + hashlib.sha256(client).digest()
        statement: dict[str, Any] = {}
        name = fmt
        if fmt == "self":
            name = "packed"
            statement = {"alg": -7, "sig": self.key.sign(signed, ec.ECDSA(hashes.SHA256()))}
        elif fmt == "packed":
            assert vendor is not None
            shown = cert or vendor.cert
            statement = {
                "alg": -7,
                "sig": vendor.att_key.sign(signed, ec.ECDSA(hashes.SHA256())),
                "x5c": [shown.public_bytes(serialization.Encoding.DER)],
            }
        attestation = cbor2.dumps({"fmt": name, "attStmt": statement, "authData": auth})
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client),
                "attestationObject": b64(attestation),
                "transports": ["usb", "nfc"],
            },
            "clientExtensionResults": {},
        }

    def assertion(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        count: int | None = None,
        uv: bool = True,
        challenge: str | None = None,
        handle: bytes | None = None,
        force_handle: bool = False,
        client_data: dict[str, Any] | None = None,
        backup_eligible: bool = False,
    ) -> dict[str, Any]:
        """``navigator.credentials.get``; the sign count moves on by one unless given. Asked
        without naming a credential (a passkey), it names its person by the user handle."""
        if count is None:
            if self.counts:
                self.count += 1
            count = self.count
        client = self._client_data(
            "webauthn.get", challenge or options["challenge"], origin, client_data
        )
        auth = self._auth_data(
            rp_id=rp_id,
            flags=UP | (UV if uv else 0) | (BE if backup_eligible else 0),
            count=count,
            attested=False,
        )
        signature = self.key.sign(auth + hashlib.sha256(client).digest(), ec.ECDSA(hashes.SHA256()))
        response = {
            "clientDataJSON": b64(client),
            "authenticatorData": b64(auth),
            "signature": b64(signature),
        }
        named = self.user_handle if handle is None else handle
        if (force_handle or not options.get("allowCredentials")) and named:
            response["userHandle"] = b64(named)
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": response,
            "clientExtensionResults": {},
        }


def mds_blob(
    vendor: Vendor,
    *,
    name: str = "Test Key",
    status: str = "FIDO_CERTIFIED",
    payload: Any = None,
    with_root: bool = False,
) -> tuple[str, bytes]:
    """An MDS3 blob naming ``vendor``'s model, signed by a signer certificate issued by a new
    MDS root (``with_root``: the root in the chain too); (blob text, the MDS root's PEM).
    ``payload`` replaces the whole payload."""
    from joserfc import jws
    from joserfc.jwk import ECKey

    signer = Vendor()  # its root is the MDS root, its attestation key the blob signer
    payload = (
        payload
        if payload is not None
        else {
            "legalHeader": "test",
            "no": 7,
            "nextUpdate": "2099-01-01",
            "entries": [
                {
                    "aaguid": vendor.aaguid_text,
                    "metadataStatement": {
                        "description": name,
                        "attestationRootCertificates": [vendor.root_b64()],
                    },
                    "statusReports": [{"status": status}],
                },
                {"aaid": "4e4e#4005"},  # a UAF entry: named by another id, skipped
                "not an entry",
            ],
        }
    )
    key = ECKey.import_key(
        signer.att_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    leaf = base64.b64encode(signer.cert.public_bytes(serialization.Encoding.DER)).decode()
    chain = [leaf, signer.root_b64()] if with_root else [leaf]
    header = {"alg": "ES256", "typ": "JWT", "x5c": chain}
    text = jws.serialize_compact(header, json.dumps(payload).encode(), key)
    return text, signer.root_pem()
