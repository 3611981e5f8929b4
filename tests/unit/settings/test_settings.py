"""Settings: environment over TOML file over defaults; secrets masked when shown."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from portvakt.methods.registry import load_registry
from portvakt.settings import LEGACY_METHOD_SETTINGS, Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PORTVAKT_CONFIG", "PORTVAKT_DATA_DIR", "PORTVAKT_ISSUER", "PORTVAKT_PORT"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_use_sqlite_in_the_data_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.db_url == f"sqlite:///{tmp_path / 'portvakt.db'}"
    assert settings.remember_device_days == 20 and settings.methods == {}


def test_toml_file_named_by_env_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "portvakt.toml"
    config.write_text('issuer = "Example University"\nenrollment_deadline = 2027-01-15\n')
    monkeypatch.setenv("PORTVAKT_CONFIG", str(config))
    settings = Settings()
    assert settings.issuer == "Example University"
    assert settings.enrollment_deadline == date(2027, 1, 15)


def test_toml_in_data_folder_is_read_and_env_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "portvakt.toml").write_text('issuer = "From file"\nport = 9000\n')
    monkeypatch.setenv("PORTVAKT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PORTVAKT_ISSUER", "From env")
    settings = Settings()
    assert settings.issuer == "From env" and settings.port == 9000


def test_unknown_or_out_of_range_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, push_match_mode="swipe")
    with pytest.raises(RuntimeError, match="settings of the totp method"):
        load_registry(Settings(data_dir=tmp_path, methods={"totp": {"window": 5}}).methods)
    extra: dict[str, object] = {"no_such_setting": 1}
    with pytest.raises(ValidationError):
        Settings.model_validate({"data_dir": str(tmp_path), **extra})


def test_masked_hides_secrets_and_database_password(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        secret_key="c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk",
        database_url="postgresql+psycopg://pv:hunter2@db/pv",
    )
    shown = settings.masked()
    text = repr(shown)
    assert "hunter2" not in text and "c2VjcmV0" not in text
    assert shown["secret_key"] == "********"
    assert shown["database"] == "postgresql+psycopg://pv:***@db/pv"


def test_trusted_proxies_come_from_a_toml_array_or_a_comma_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings(data_dir=tmp_path).trusted_proxies == ()
    config = tmp_path / "portvakt.toml"
    config.write_text('trusted_proxies = ["127.0.0.1", "fd00::/8", "::1"]\n')
    monkeypatch.setenv("PORTVAKT_CONFIG", str(config))
    assert Settings().trusted_proxies == ("127.0.0.1", "fd00::/8", "::1")
    monkeypatch.setenv("PORTVAKT_TRUSTED_PROXIES", " 10.0.0.0/8 ,127.0.0.1,, 127.0.0.1")
    assert Settings().trusted_proxies == ("10.0.0.0/8", "127.0.0.1")


@pytest.mark.parametrize("entry", ["*", "proxy.internal", "10.0.0.1/8", "300.1.1.1", "::1]"])
def test_a_trusted_proxy_that_is_no_address_or_network_is_refused(
    tmp_path: Path, entry: str
) -> None:
    with pytest.raises(ValidationError, match="is not an IP address or network"):
        Settings(data_dir=tmp_path, trusted_proxies=f"127.0.0.1,{entry}")


def test_method_settings_are_read_under_their_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``[methods.<kind>]`` in the file, ``PORTVAKT_METHODS__<KIND>__<NAME>`` in the
    environment; each method validates its own and receives them at start-up."""
    (tmp_path / "portvakt.toml").write_text("[methods.push]\nmatch_mode = 'pick'\n")
    monkeypatch.setenv("PORTVAKT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PORTVAKT_METHODS__TOTP__WINDOW", "0")
    settings = Settings()
    registry = load_registry(settings.methods)
    assert registry.get("push").settings.match_mode == "pick"  # type: ignore[attr-defined]
    assert registry.get("totp").settings.window == 0  # type: ignore[attr-defined]
    assert settings.legacy_names() == []


def test_deprecated_method_settings_still_work_and_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old flat names (``totp_window``, ``push_*``) are copied under their kind; a new
    name given too wins; ``masked`` leaves out the old names nobody set."""
    monkeypatch.setenv("PORTVAKT_PUSH_REQUIRE_UV", "true")
    settings = Settings(
        data_dir=tmp_path,
        totp_window=0,
        push_challenge_seconds=30,
        methods={"push": {"challenge_seconds": 90}},
    )
    assert settings.methods == {
        "totp": {"window": 0},
        "push": {"challenge_seconds": 90, "require_uv": True},
    }
    assert settings.legacy_names() == ["totp_window", "push_challenge_seconds", "push_require_uv"]
    registry = load_registry(settings.methods)
    assert registry.get("push").settings.require_uv is True  # type: ignore[attr-defined]
    shown = settings.masked()
    assert shown["push_require_uv"] is True and "push_max_denials" not in shown
    assert set(LEGACY_METHOD_SETTINGS) <= set(Settings.model_fields)
