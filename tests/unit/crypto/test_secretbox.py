"""AES-256-GCM key ring with key ids, keyed hashes and ``keys.json`` (OTP-09)."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from portvakt.crypto.secretbox import NONCE_BYTES, KeyRing

KEY_1 = bytes(range(32))
KEY_2 = bytes(range(32, 64))
AAD = b"credential:7"
SEED = b"12345678901234567890"


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing({"k1": KEY_1}, "k1")


@pytest.fixture
def rotated() -> KeyRing:
    return KeyRing({"k1": KEY_1, "k2": KEY_2}, "k2", "k1")


def test_seal_then_open_returns_plaintext_with_active_key_id(ring: KeyRing) -> None:
    """OTP-09: a sealed seed opens again with the key id it was sealed under."""
    key_id, ciphertext = ring.seal(SEED, aad=AAD)
    assert key_id == "k1" == ring.active_key_id
    assert ring.open(key_id, ciphertext, aad=AAD) == SEED


def test_seal_hides_plaintext_and_uses_fresh_nonce(ring: KeyRing) -> None:
    """OTP-09: the stored column is not the seed, and sealing twice never repeats a nonce."""
    _, first = ring.seal(SEED, aad=AAD)
    _, second = ring.seal(SEED, aad=AAD)
    assert SEED not in first
    assert first[:NONCE_BYTES] != second[:NONCE_BYTES]
    assert first != second
    assert len(first) == NONCE_BYTES + len(SEED) + 16  # nonce ‖ ciphertext ‖ GCM tag


@pytest.mark.parametrize(
    "position",
    [
        pytest.param(0, id="nonce"),
        pytest.param(NONCE_BYTES, id="body"),
        pytest.param(-1, id="tag"),
    ],
)
def test_open_rejects_tampered_ciphertext(ring: KeyRing, position: int) -> None:
    """OTP-09: flipping one bit anywhere is detected by the GCM tag."""
    key_id, ciphertext = ring.seal(SEED, aad=AAD)
    altered = bytearray(ciphertext)
    altered[position] ^= 0x01
    with pytest.raises(ValueError, match="altered"):
        ring.open(key_id, bytes(altered), aad=AAD)


@pytest.mark.parametrize("cut", [0, 5, NONCE_BYTES, NONCE_BYTES + 15])
def test_open_rejects_truncated_ciphertext_with_value_error(ring: KeyRing, cut: int) -> None:
    """OTP-09: short input is a ``ValueError`` (``ports.SecretBox`` contract), never a crash."""
    key_id, ciphertext = ring.seal(SEED, aad=AAD)
    with pytest.raises(ValueError):  # the message depends on the length
        ring.open(key_id, ciphertext[:cut], aad=AAD)


@pytest.mark.parametrize("aad", [b"", b"credential:8", AAD + b"\0"])
def test_open_rejects_wrong_aad(ring: KeyRing, aad: bytes) -> None:
    """OTP-09: a sealed seed cannot be moved to another row (the AAD binds it)."""
    key_id, ciphertext = ring.seal(SEED, aad=AAD)
    with pytest.raises(ValueError, match="altered"):
        ring.open(key_id, ciphertext, aad=aad)


def test_open_rejects_unknown_key_id(ring: KeyRing) -> None:
    """OTP-09: a key id that is not in the ring fails loudly."""
    _, ciphertext = ring.seal(SEED, aad=AAD)
    with pytest.raises(ValueError, match="unknown key id"):
        ring.open("k9", ciphertext, aad=AAD)


def test_open_rejects_ciphertext_under_wrong_key() -> None:
    """OTP-09: decryption fails without the right key."""
    key_id, ciphertext = KeyRing({"k1": KEY_1}, "k1").seal(SEED, aad=AAD)
    with pytest.raises(ValueError, match="altered"):
        KeyRing({"k1": KEY_2}, "k1").open(key_id, ciphertext, aad=AAD)


def test_rotation_opens_old_ciphertext_and_seals_with_new_key(
    ring: KeyRing, rotated: KeyRing
) -> None:
    """OTP-09: after rotation, ciphertext under the old key still opens; new seals use k2."""
    old_id, old_ciphertext = ring.seal(SEED, aad=AAD)
    assert rotated.open(old_id, old_ciphertext, aad=AAD) == SEED
    new_id, new_ciphertext = rotated.seal(SEED, aad=AAD)
    assert new_id == "k2"
    assert rotated.open(new_id, new_ciphertext, aad=AAD) == SEED
    with pytest.raises(ValueError, match="unknown key id"):
        ring.open(new_id, new_ciphertext, aad=AAD)


def test_keyed_hash_is_deterministic_hex(ring: KeyRing) -> None:
    """Lookup hashes for recovery codes and device tokens are stable 256-bit hex."""
    first = ring.keyed_hash(b"value", purpose="device")
    assert first == ring.keyed_hash(b"value", purpose="device")
    assert len(first) == 64
    int(first, 16)


def test_keyed_hash_differs_by_purpose_value_and_key(ring: KeyRing) -> None:
    """A hash for one purpose never matches another; the key matters."""
    base = ring.keyed_hash(b"value", purpose="device")
    assert base != ring.keyed_hash(b"value", purpose="recovery")
    assert base != ring.keyed_hash(b"value2", purpose="device")
    assert base != KeyRing({"k1": KEY_2}, "k1").keyed_hash(b"value", purpose="device")
    # the separator keeps ("ab", "c") and ("a", "bc") apart
    assert ring.keyed_hash(b"c", purpose="ab") != ring.keyed_hash(b"bc", purpose="a")


def test_keyed_hash_is_stable_across_rotation(ring: KeyRing, rotated: KeyRing) -> None:
    """Stored lookup hashes survive adding a new active key."""
    assert ring.keyed_hash(b"token", purpose="device") == rotated.keyed_hash(
        b"token", purpose="device"
    )


def test_keyed_hash_follows_the_named_hash_key_not_the_active_one() -> None:
    """Ten rotations later ("k10" sorts before "k2") the hash key is still the one named."""
    first = KeyRing({"k1": KEY_1}, "k1")
    later = KeyRing({"k1": KEY_1, "k2": KEY_2, "k10": bytes(32)}, "k10", "k1")
    assert first.keyed_hash(b"t", purpose="device") == later.keyed_hash(b"t", purpose="device")
    assert KeyRing({"k2": KEY_2}, "k2").keyed_hash(b"t", purpose="device") != first.keyed_hash(
        b"t", purpose="device"
    )


def test_key_ring_rejects_hash_id_missing() -> None:
    with pytest.raises(ValueError, match="hash key id"):
        KeyRing({"k1": KEY_1}, "k1", "k9")


def test_key_ring_rejects_active_id_missing() -> None:
    with pytest.raises(ValueError, match="active key id"):
        KeyRing({"k1": KEY_1}, "k2")


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_key_ring_rejects_key_of_wrong_length(size: int) -> None:
    """OTP-09: AES-256 only."""
    with pytest.raises(ValueError, match="32 bytes"):
        KeyRing({"k1": bytes(size)}, "k1")


def test_from_master_key_accepts_unpadded_urlsafe_base64() -> None:
    """``PORTVAKT_SECRET_KEY`` may be given without ``=`` padding."""
    encoded = base64.urlsafe_b64encode(KEY_1).decode().rstrip("=")
    box = KeyRing.from_master_key(encoded)
    assert box.active_key_id == "m1"
    key_id, ciphertext = box.seal(SEED, aad=AAD)
    assert KeyRing({"m1": KEY_1}, "m1").open(key_id, ciphertext, aad=AAD) == SEED


def test_from_master_key_rejects_short_key() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        KeyRing.from_master_key(base64.urlsafe_b64encode(bytes(16)).decode())


def test_load_or_create_writes_keys_json_with_mode_0600(tmp_path: Path) -> None:
    """OTP-09: the key file is created private (0600), in a private folder (0700)."""
    path = tmp_path / "data" / "keys.json"
    box = KeyRing.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    document = json.loads(path.read_text())
    assert document["active"] == box.active_key_id
    assert list(document["keys"]) == [box.active_key_id]
    assert len(base64.urlsafe_b64decode(document["keys"][box.active_key_id])) == 32


def test_load_or_create_reuses_existing_file(tmp_path: Path) -> None:
    """OTP-09: a second start reads the same key and does not overwrite the file."""
    path = tmp_path / "keys.json"
    key_id, ciphertext = KeyRing.load_or_create(path).seal(SEED, aad=AAD)
    written = path.read_bytes()
    again = KeyRing.load_or_create(path)
    assert path.read_bytes() == written
    assert again.open(key_id, ciphertext, aad=AAD) == SEED


def test_load_or_create_creates_distinct_keys_per_data_folder(tmp_path: Path) -> None:
    """Fresh installs never share a key."""
    first = KeyRing.load_or_create(tmp_path / "a" / "keys.json")
    second = KeyRing.load_or_create(tmp_path / "b" / "keys.json")
    key_id, ciphertext = first.seal(SEED, aad=AAD)
    with pytest.raises(ValueError, match="altered"):
        second.open(key_id, ciphertext, aad=AAD)


def test_load_or_create_reads_rotated_ring_from_file(tmp_path: Path) -> None:
    """OTP-09: a ``keys.json`` holding an old and a new key opens both ciphertexts."""
    path = tmp_path / "keys.json"
    document = {
        "active": "k2",
        "keys": {
            "k1": base64.urlsafe_b64encode(KEY_1).decode(),
            "k2": base64.urlsafe_b64encode(KEY_2).decode(),
        },
    }
    path.write_text(json.dumps(document))
    box = KeyRing.load_or_create(path)
    assert box.active_key_id == "k2"
    old_id, old_ciphertext = KeyRing({"k1": KEY_1}, "k1").seal(SEED, aad=AAD)
    assert box.open(old_id, old_ciphertext, aad=AAD) == SEED
