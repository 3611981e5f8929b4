"""The one file the app keeps: ``accounts.json`` in ``$PORTVAKT_AUTHENTICATOR_HOME``, else
``$XDG_CONFIG_HOME/portvakt-authenticator`` (default ``~/.config/portvakt-authenticator``).

The folder is 0700 and the file 0600; it is written to a temporary file (created 0600) and
moved into place with ``os.replace``, so a crash leaves the old or the new file, never half.
With a PIN the accounts are sealed with AES-256-GCM under a key derived from the PIN with
scrypt (RFC 7914; 16-byte salt; n=2^17, r=8, p=1 for new stores, the OWASP Password Storage
Cheat Sheet's figures)::

    {"format": "portvakt-authenticator/1", "encrypted": false, "accounts": [...]}
    {"format": "portvakt-authenticator/1", "encrypted": true,
     "kdf": {"name": "scrypt", "salt": …, "n": 131072, "r": 8, "p": 1}, "nonce": …, "ciphertext": …}

The cost is read from the file: a store with a lower one (n=2^15 before issue 9) opens, and is
sealed at today's cost under a new salt when next written. A PIN has at least 6 characters; one
made shorter before still opens, flagged (``Vault.short_pin``) so the app asks for a longer one.

Opening the store with the PIN is the app's user verification (``uv`` in a push answer)."""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
import secrets
import tempfile
import time
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from portvakt_authenticator.accounts import Account, from_dict, to_dict

FORMAT = "portvakt-authenticator/1"
FILE_NAME = "accounts.json"
HOME_VARIABLE = "PORTVAKT_AUTHENTICATOR_HOME"


class ScryptCost(NamedTuple):
    """RFC 7914 §2: CPU/memory cost ``n``, block size ``r``, parallelisation ``p``."""

    n: int
    r: int
    p: int

    def weaker_than(self, other: ScryptCost) -> bool:
        return self.n * self.r * self.p < other.n * other.r * other.p


SCRYPT_COST = ScryptCost(n=2**17, r=8, p=1)  # new and rewritten stores (128 MiB, ~0.3 s)
SALT_BYTES, KEY_BYTES, NONCE_BYTES = 16, 32, 12
MIN_PIN_LENGTH = 6
MAX_FILE_BYTES = 16 * 1024 * 1024
LOCK_WAIT = 10.0  # seconds to wait for another command that is changing the accounts


class KeystoreError(Exception):
    """``code``: ``wrong_pin``, ``pin_required``, ``corrupt``, ``unsupported_format``,
    ``pin_too_short`` or ``busy``."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code = code
        self.detail = detail


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(HOME_VARIABLE):
        return Path(env[HOME_VARIABLE])
    config = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "portvakt-authenticator"


@dataclass(slots=True)
class Vault:
    """The accounts as read, and the PIN-derived key they were opened with (if any)."""

    accounts: list[Account] = field(default_factory=list)
    key: bytes | None = field(default=None, repr=False)
    salt: bytes | None = field(default=None, repr=False)
    cost: ScryptCost = SCRYPT_COST  # how ``key`` was derived from the PIN and ``salt``
    short_pin: bool = False  # opened with a PIN under MIN_PIN_LENGTH (allowed before issue 9)

    @property
    def encrypted(self) -> bool:
        return self.key is not None

    @property
    def user_verified(self) -> bool:
        """True only when this process opened the store with the PIN."""
        return self.key is not None


def derive_key(pin: str, salt: bytes, cost: ScryptCost) -> bytes:
    secret = unicodedata.normalize("NFC", pin).encode()
    return Scrypt(salt=salt, length=KEY_BYTES, n=cost.n, r=cost.r, p=cost.p).derive(secret)


def check_pin(pin: str) -> None:
    if len(pin) < MIN_PIN_LENGTH:
        raise KeystoreError("pin_too_short")


class Keystore:
    def __init__(self, home: Path | None = None, *, cost: ScryptCost | None = None) -> None:
        """``cost``: the scrypt cost for stores this writes (default ``SCRYPT_COST``)."""
        self.home = default_home() if home is None else home
        self.path = self.home / FILE_NAME
        self.cost = SCRYPT_COST if cost is None else cost

    # -- reading ---------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.path.is_file()

    def encrypted(self) -> bool:
        return bool(self._read_document().get("encrypted")) if self.exists() else False

    def load(self, pin: str | None = None) -> Vault:
        """The accounts; an empty vault if there is no file yet. A PIN is needed exactly when
        the file is encrypted."""
        if not self.exists():
            return Vault()
        document = self._read_document()
        if document.get("encrypted") is True:
            if pin is None:
                raise KeystoreError("pin_required")
            return self._open(document, pin)
        if document.get("encrypted") is not False:
            raise KeystoreError("corrupt", "encrypted")
        return Vault(accounts=_accounts(document.get("accounts")))

    def _read_document(self) -> dict[str, Any]:
        try:
            with self.path.open("rb") as handle:
                raw = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise KeystoreError("corrupt", f"{self.path}: {exc.strerror or exc}") from exc
        if len(raw) > MAX_FILE_BYTES:
            raise KeystoreError("corrupt", "too large")
        try:
            document = json.loads(raw)
        except ValueError as exc:
            raise KeystoreError("corrupt", "not JSON") from exc
        if not isinstance(document, dict):
            raise KeystoreError("corrupt", "not a JSON object")
        if document.get("format") != FORMAT:
            raise KeystoreError("unsupported_format", str(document.get("format")))
        return document

    def _open(self, document: Mapping[str, Any], pin: str) -> Vault:
        try:
            kdf = document["kdf"]
            salt, nonce = _b64d(kdf["salt"]), _b64d(document["nonce"])
            ciphertext = _b64d(document["ciphertext"])
            cost = ScryptCost(int(kdf["n"]), int(kdf["r"]), int(kdf["p"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise KeystoreError("corrupt", "encryption header") from exc
        if kdf.get("name") != "scrypt" or not _sane_scrypt(cost) or len(nonce) != NONCE_BYTES:
            raise KeystoreError("corrupt", "encryption header")
        key = derive_key(pin, salt, cost)
        try:
            plain = AESGCM(key).decrypt(nonce, ciphertext, FORMAT.encode())
        except InvalidTag as exc:  # a wrong PIN and an altered file look the same
            raise KeystoreError("wrong_pin") from exc
        try:
            inner = json.loads(plain)
        except ValueError as exc:
            raise KeystoreError("corrupt", "not JSON") from exc
        if not isinstance(inner, dict):
            raise KeystoreError("corrupt", "not a JSON object")
        accounts = _accounts(inner.get("accounts"))
        short = len(pin) < MIN_PIN_LENGTH
        if cost.weaker_than(self.cost):  # the next save seals it at today's cost
            salt = secrets.token_bytes(SALT_BYTES)
            key, cost = derive_key(pin, salt, self.cost), self.cost
        return Vault(accounts=accounts, key=key, salt=salt, cost=cost, short_pin=short)

    # -- writing ---------------------------------------------------------------------------

    def save(self, vault: Vault) -> None:
        accounts = [to_dict(a) for a in vault.accounts]
        document: dict[str, Any]
        if vault.key is None:
            document = {"format": FORMAT, "encrypted": False, "accounts": accounts}
        else:
            if vault.salt is None:
                raise ValueError("an encrypted vault needs its salt")
            nonce = secrets.token_bytes(NONCE_BYTES)
            plain = json.dumps({"accounts": accounts}).encode()
            sealed = AESGCM(vault.key).encrypt(nonce, plain, FORMAT.encode())
            document = {
                "format": FORMAT,
                "encrypted": True,
                "kdf": {
                    "name": "scrypt",
                    "salt": _b64e(vault.salt),
                    "n": vault.cost[0],
                    "r": vault.cost[1],
                    "p": vault.cost[2],
                },
                "nonce": _b64e(nonce),
                "ciphertext": _b64e(sealed),
            }
        self._write_atomic((json.dumps(document, indent=2) + "\n").encode())

    def _ensure_home(self) -> None:
        if not self.home.is_dir():
            self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.home, 0o700)

    def _write_atomic(self, data: bytes) -> None:
        self._ensure_home()
        fd, temporary = tempfile.mkstemp(prefix=".accounts.", suffix=".tmp", dir=self.home)
        try:
            os.fchmod(fd, 0o600)  # mkstemp already creates 0600; say it anyway
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        directory = os.open(self.home, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    @contextmanager
    def locked(self, wait: float = LOCK_WAIT) -> Iterator[None]:
        """Hold the store's lock for a read-change-write, so two commands at once cannot lose
        each other's change; ``KeystoreError("busy")`` if another holds it for ``wait`` s."""
        self._ensure_home()
        fd = os.open(self.home / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError as exc:
                    if time.monotonic() >= deadline:
                        raise KeystoreError("busy") from exc
                    time.sleep(0.1)
            yield
        finally:
            os.close(fd)

    # -- the PIN ---------------------------------------------------------------------------

    def set_pin(self, vault: Vault, pin: str) -> Vault:
        """Encrypt under ``pin`` (set or change); the vault must be open already."""
        check_pin(pin)
        salt = secrets.token_bytes(SALT_BYTES)
        key = derive_key(pin, salt, self.cost)
        sealed = Vault(accounts=list(vault.accounts), key=key, salt=salt, cost=self.cost)
        self.save(sealed)
        return sealed

    def remove_pin(self, vault: Vault) -> Vault:
        plain = Vault(accounts=list(vault.accounts))
        self.save(plain)
        return plain


def _accounts(entries: object) -> list[Account]:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise KeystoreError("corrupt", "accounts")
    try:
        return [from_dict(entry) for entry in entries]
    except ValueError as exc:
        raise KeystoreError("corrupt", "an account entry") from exc


def _sane_scrypt(cost: ScryptCost) -> bool:
    """Refuse parameters that would make opening the file take minutes or gigabytes."""
    n, r, p = cost
    return 2**14 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 16 and 1 <= p <= 4


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64d(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a string")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc
