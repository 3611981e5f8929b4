"""accounts.json: where it lives, its permissions, atomic writes, the PIN and damaged files."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from portvakt_authenticator import keystore
from portvakt_authenticator.accounts import OtpAccount, PushAccount
from portvakt_authenticator.keystore import (
    FORMAT,
    Keystore,
    KeystoreError,
    ScryptCost,
    Vault,
    default_home,
)
from tests.authenticator.conftest import FAST_COST, SHIPPED_COST, legacy_store


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
    store.set_pin(Vault(accounts=[totp_account, registered]), "246813")
    text = store.path.read_text()
    document = json.loads(text)
    assert document["encrypted"] is True
    assert document["kdf"] | {"salt": ""} == {
        "name": "scrypt",
        "salt": "",
        "n": FAST_COST.n,  # the cost these tests give new stores (conftest.py)
        "r": 8,
        "p": 1,
    }
    assert set(document) == {"format", "encrypted", "kdf", "nonce", "ciphertext"}
    assert totp_account.secret not in text and registered.device_key["d"] not in text
    assert "alice" not in text  # nothing about the accounts is readable
    assert store.encrypted()
    vault = store.load("246813")
    assert vault.accounts == [totp_account, registered]
    assert vault.encrypted and vault.user_verified


def test_saving_an_opened_encrypted_vault_keeps_it_encrypted(
    home: Path, totp_account: OtpAccount
) -> None:
    store = Keystore(home)
    store.set_pin(Vault(), "246813")
    vault = store.load("246813")
    vault.accounts.append(totp_account)
    store.save(vault)
    assert store.encrypted()
    assert store.load("246813").accounts == [totp_account]


def test_wrong_pin_is_a_clear_error(home: Path, totp_account: OtpAccount) -> None:
    store = Keystore(home)
    store.set_pin(Vault(accounts=[totp_account]), "246813")
    with pytest.raises(KeystoreError) as caught:
        store.load("135791")
    assert caught.value.code == "wrong_pin"


def test_encrypted_store_needs_the_pin(home: Path) -> None:
    store = Keystore(home)
    store.set_pin(Vault(), "246813")
    with pytest.raises(KeystoreError) as caught:
        store.load()
    assert caught.value.code == "pin_required"


def test_change_and_remove_pin(home: Path, totp_account: OtpAccount) -> None:
    store = Keystore(home)
    store.set_pin(Vault(accounts=[totp_account]), "246813")
    store.set_pin(store.load("246813"), "864200")
    with pytest.raises(KeystoreError):
        store.load("246813")
    store.remove_pin(store.load("864200"))
    assert not store.encrypted()
    assert store.load().accounts == [totp_account]


@pytest.mark.parametrize("pin", ["1234", "12345", "abcde"])
def test_a_pin_under_six_characters_is_refused(home: Path, pin: str) -> None:
    with pytest.raises(KeystoreError) as caught:
        Keystore(home).set_pin(Vault(), pin)
    assert caught.value.code == "pin_too_short"
    assert not Keystore(home).exists()
    assert Keystore(home).set_pin(Vault(), "123456").encrypted


def test_new_stores_get_the_owasp_scrypt_cost(
    home: Path, totp_account: OtpAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OWASP Password Storage Cheat Sheet: scrypt N=2^17 (128 MiB), r=8, p=1. The one test
    that pays for it (conftest.py lowers it for the rest)."""
    assert (SHIPPED_COST.n, SHIPPED_COST.r, SHIPPED_COST.p) == (2**17, 8, 1)
    monkeypatch.setattr(keystore, "SCRYPT_COST", SHIPPED_COST)
    store = Keystore(home)
    store.set_pin(Vault(accounts=[totp_account]), "246813")
    kdf = json.loads(store.path.read_text())["kdf"]
    assert (kdf["n"], kdf["r"], kdf["p"]) == (2**17, 8, 1)
    assert store.load("246813").accounts == [totp_account]


def test_an_old_store_opens_and_is_rewritten_with_the_new_cost_when_saved(
    home: Path, totp_account: OtpAccount
) -> None:
    Keystore(home).save(Vault(accounts=[totp_account]))
    legacy_store(home, "246813", n=2**14)
    store = Keystore(home, cost=ScryptCost(n=2**15, r=8, p=1))
    vault = store.load("246813")
    assert vault.accounts == [totp_account] and vault.user_verified
    assert json.loads(store.path.read_text())["kdf"]["n"] == 2**14  # reading writes nothing
    store.save(vault)
    kdf = json.loads(store.path.read_text())["kdf"]
    assert (kdf["n"], kdf["r"], kdf["p"]) == (2**15, 8, 1)
    assert store.load("246813").accounts == [totp_account]


def test_a_pin_change_on_an_old_store_uses_the_new_cost(
    home: Path, totp_account: OtpAccount
) -> None:
    Keystore(home).save(Vault(accounts=[totp_account]))
    legacy_store(home, "2468", n=2**14)
    store = Keystore(home, cost=ScryptCost(n=2**15, r=8, p=1))
    store.set_pin(store.load("2468"), "975310")
    assert json.loads(store.path.read_text())["kdf"]["n"] == 2**15
    assert store.load("975310").accounts == [totp_account]


def test_a_stronger_store_keeps_its_cost(home: Path, totp_account: OtpAccount) -> None:
    Keystore(home).save(Vault(accounts=[totp_account]))
    legacy_store(home, "246813", n=2**15)
    store = Keystore(home)  # the cheaper test cost
    vault = store.load("246813")
    store.save(vault)
    assert json.loads(store.path.read_text())["kdf"]["n"] == 2**15


def test_a_store_opened_with_a_short_pin_says_so(home: Path) -> None:
    legacy_store(home, "2468")
    assert Keystore(home).load("2468").short_pin
    Keystore(home).set_pin(Keystore(home).load("2468"), "246813")
    assert not Keystore(home).load("246813").short_pin


def test_altered_ciphertext_reads_as_wrong_pin(home: Path, totp_account: OtpAccount) -> None:
    store = Keystore(home)
    store.set_pin(Vault(accounts=[totp_account]), "246813")
    document = json.loads(store.path.read_text())
    first = document["ciphertext"][0]
    document["ciphertext"] = ("B" if first == "A" else "A") + document["ciphertext"][1:]  # changed
    store.path.write_text(json.dumps(document))
    with pytest.raises(KeystoreError) as caught:
        store.load("246813")
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
        Keystore(home).load("246813")
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
