"""accounts.json: where it lives, its permissions, atomic writes, the PIN and damaged files."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from portvakt_authenticator.accounts import OtpAccount, PushAccount
from portvakt_authenticator.keystore import (
    FORMAT,
    Keystore,
    KeystoreError,
    Vault,
    default_home,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_default_home_prefers_the_app_variable_then_xdg(tmp_path: Path) -> None:
    assert default_home({"PORTVAKT_AUTHENTICATOR_HOME": "/x/y"}) == Path("/x/y")
    assert default_home({"XDG_CONFIG_HOME": "/cfg"}) == Path("/cfg/portvakt-authenticator")
    assert default_home({}) == Path.home() / ".config" / "portvakt-authenticator"


def test_load_without_a_file_is_an_empty_unencrypted_vault(home: Path) -> None:
    vault = Keystore(home).load()
    assert vault.accounts == [] and not vault.encrypted and not vault.user_verified
    assert not home.exists()


def test_save_creates_folder_0700_and_file_0600(
    home: Path, totp_account: OtpAccount, registered: PushAccount
) -> None:
    store = Keystore(home)
    store.save(Vault(accounts=[totp_account, registered]))
    assert _mode(home) == 0o700
    assert _mode(store.path) == 0o600
    loaded = store.load()
    assert loaded.accounts == [totp_account, registered]
    document = json.loads(store.path.read_text())
    assert document["format"] == FORMAT and document["encrypted"] is False


def test_save_keeps_0600_under_a_permissive_umask(home: Path, totp_account: OtpAccount) -> None:
    old = os.umask(0)
    try:
        Keystore(home).save(Vault(accounts=[totp_account]))
    finally:
        os.umask(old)
    assert _mode(home / "accounts.json") == 0o600


def test_save_is_atomic_and_leaves_no_temporary_files(
    home: Path, totp_account: OtpAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Keystore(home)
    store.save(Vault(accounts=[totp_account]))
    before = store.path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.save(Vault(accounts=[]))
    assert store.path.read_bytes() == before
    assert sorted(p.name for p in home.iterdir()) == ["accounts.json"]


def test_pin_encrypts_the_whole_document(
    home: Path, totp_account: OtpAccount, registered: PushAccount
) -> None:
    store = Keystore(home)
    store.set_pin(Vault(accounts=[totp_account, registered]), "2468")
    text = store.path.read_text()
    document = json.loads(text)
    assert document["encrypted"] is True
    assert document["kdf"] | {"salt": ""} == {
        "name": "scrypt",
        "salt": "",
        "n": 2**15,
        "r": 8,
        "p": 1,
    }
    assert set(document) == {"format", "encrypted", "kdf", "nonce", "ciphertext"}
    assert totp_account.secret not in text and registered.device_key["d"] not in text
    assert "alice" not in text  # nothing about the accounts is readable
    assert store.encrypted()
    vault = store.load("2468")
    assert vault.accounts == [totp_account, registered]
    assert vault.encrypted and vault.user_verified


def test_saving_an_opened_encrypted_vault_keeps_it_encrypted(
    home: Path, totp_account: OtpAccount
) -> None:
    store = Keystore(home)
    store.set_pin(Vault(), "2468")
    vault = store.load("2468")
    vault.accounts.append(totp_account)
    store.save(vault)
    assert store.encrypted()
    assert store.load("2468").accounts == [totp_account]


def test_wrong_pin_is_a_clear_error(home: Path, totp_account: OtpAccount) -> None:
    store = Keystore(home)
    store.set_pin(Vault(accounts=[totp_account]), "2468")
    with pytest.raises(KeystoreError) as caught:
        store.load("1357")
    assert caught.value.code == "wrong_pin"


def test_encrypted_store_needs_the_pin(home: Path) -> None:
    store = Keystore(home)
    store.set_pin(Vault(), "2468")
    with pytest.raises(KeystoreError) as caught:
        store.load()
    assert caught.value.code == "pin_required"


def test_change_and_remove_pin(home: Path, totp_account: OtpAccount) -> None:
    store = Keystore(home)
    store.set_pin(Vault(accounts=[totp_account]), "2468")
    store.set_pin(store.load("2468"), "86420")
    with pytest.raises(KeystoreError):
        store.load("2468")
    store.remove_pin(store.load("86420"))
    assert not store.encrypted()
    assert store.load().accounts == [totp_account]


def test_short_pin_is_refused(home: Path) -> None:
    with pytest.raises(KeystoreError) as caught:
        Keystore(home).set_pin(Vault(), "123")
    assert caught.value.code == "pin_too_short"


def test_altered_ciphertext_reads_as_wrong_pin(home: Path, totp_account: OtpAccount) -> None:
    store = Keystore(home)
    store.set_pin(Vault(accounts=[totp_account]), "2468")
    document = json.loads(store.path.read_text())
    first = document["ciphertext"][0]
    document["ciphertext"] = ("B" if first == "A" else "A") + document["ciphertext"][1:]  # changed
    store.path.write_text(json.dumps(document))
    with pytest.raises(KeystoreError) as caught:
        store.load("2468")
    assert caught.value.code == "wrong_pin"


@pytest.mark.parametrize(
    "content",
    [
        "not json {",
        "[1, 2]",
        json.dumps({"format": FORMAT, "encrypted": False, "accounts": "x"}),
        json.dumps({"format": FORMAT, "encrypted": False, "accounts": [{"type": "totp"}]}),
        json.dumps({"format": FORMAT, "encrypted": False, "accounts": [7]}),
        json.dumps({"format": FORMAT, "encrypted": "maybe", "accounts": []}),
        json.dumps({"format": FORMAT, "encrypted": True, "kdf": {}, "nonce": "", "ciphertext": ""}),
        json.dumps(
            {
                "format": FORMAT,
                "encrypted": True,
                "kdf": {"name": "scrypt", "salt": "AAAA", "n": 2**40, "r": 8, "p": 1},
                "nonce": "AAAAAAAAAAAAAAAA",
                "ciphertext": "AAAA",
            }
        ),
    ],
    ids=["not-json", "not-object", "accounts-not-list", "bad-entry", "entry-not-object",
         "bad-flag", "bad-header", "absurd-scrypt"],
)  # fmt: skip
def test_damaged_file_is_a_clear_error(home: Path, content: str) -> None:
    home.mkdir(mode=0o700)
    (home / "accounts.json").write_text(content)
    with pytest.raises(KeystoreError) as caught:
        Keystore(home).load("2468")
    assert caught.value.code == "corrupt"


def test_unknown_format_is_refused(home: Path) -> None:
    home.mkdir(mode=0o700)
    (home / "accounts.json").write_text(json.dumps({"format": "other/9", "accounts": []}))
    with pytest.raises(KeystoreError) as caught:
        Keystore(home).load()
    assert caught.value.code == "unsupported_format"


def test_lock_can_be_taken_twice_in_a_row(home: Path) -> None:
    store = Keystore(home)
    with store.locked():
        pass
    with store.locked():
        assert _mode(home / ".lock") == 0o600


def test_lock_held_elsewhere_is_reported_as_busy(home: Path) -> None:
    store = Keystore(home)
    with store.locked(), pytest.raises(KeystoreError) as caught, store.locked(wait=0.2):
        pass
    assert caught.value.code == "busy"
