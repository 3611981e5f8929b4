"""AES-256-GCM envelope encryption with key ids, and keyed hashes (OTP-09).

Keys live in a key ring: the active key id plus every older key, so ciphertexts written under
an older key still open after rotation. The ring is loaded from ``keys.json`` in the data folder
(created 0600 on first start) or from a single master key given in settings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class KeyRing:
    """Implements ``ports.SecretBox``."""

    def __init__(self, keys: dict[str, bytes], active: str, hash_key_id: str | None = None) -> None:
        if active not in keys:
            raise ValueError("active key id is not in the key ring")
        hash_key_id = hash_key_id or active
        if hash_key_id not in keys:
            raise ValueError("hash key id is not in the key ring")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"key {key_id!r} must be 32 bytes")
        self._keys = dict(keys)
        self._active = active
        # Lookup hashes must survive rotation of the encryption key, so the key they derive
        # from is named separately ("hash" in keys.json) and stays when "active" moves on.
        base = keys[hash_key_id]
        self._hash_key = hmac.new(base, b"portvakt keyed hash v1", hashlib.sha256).digest()

    @property
    def active_key_id(self) -> str:
        return self._active

    def seal(self, plaintext: bytes, *, aad: bytes) -> tuple[str, bytes]:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self._keys[self._active]).encrypt(nonce, plaintext, aad)
        return self._active, nonce + sealed

    def open(self, key_id: str, ciphertext: bytes, *, aad: bytes) -> bytes:
        key = self._keys.get(key_id)
        if key is None:
            raise ValueError(f"unknown key id {key_id!r}")
        try:
            return AESGCM(key).decrypt(ciphertext[:NONCE_BYTES], ciphertext[NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise ValueError("ciphertext was altered or the key is wrong") from exc

    def keyed_hash(self, value: bytes, *, purpose: str) -> str:
        return hmac.new(
            self._hash_key, purpose.encode() + b"\0" + value, hashlib.sha256
        ).hexdigest()

    @classmethod
    def from_master_key(cls, encoded: str) -> KeyRing:
        key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        return cls({"m1": key}, "m1")

    @classmethod
    def load_or_create(cls, path: Path) -> KeyRing:
        """Read ``keys.json``; create it with one fresh key (mode 0600) if it does not exist."""
        if not path.exists():
            key_id = "k1"
            document = {
                "active": key_id,
                "hash": key_id,
                "keys": {key_id: _b64(secrets.token_bytes(32))},
            }
            _write_private(path, json.dumps(document, indent=2).encode())
        document = json.loads(path.read_text())
        keys = {kid: base64.urlsafe_b64decode(value) for kid, value in document["keys"].items()}
        return cls(keys, document["active"], document.get("hash", document["active"]))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 from the start (no window where others can read it)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
