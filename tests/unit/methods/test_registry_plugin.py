"""The registry finds a method installed through the ``portvakt.methods`` entry point (the
suite's tests/plugins/portvakt_testmethod) and gives it its own settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from portvakt.methods.registry import BUILT_IN, load_registry

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


@pytest.fixture
def plugin_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PLUGINS))


@pytest.mark.usefixtures("plugin_on_path")
def test_an_installed_method_is_registered_after_the_built_ins() -> None:
    registry = load_registry({"lettercode": {"period": 60}})
    assert registry.kinds() == (*(cls.kind for cls in BUILT_IN), "lettercode")
    method = registry.get("lettercode")
    assert getattr(method, "period", None) == 60
    assert set(registry.template_folders()) == set(registry.kinds())
    assert registry.code_kinds("api") == ("totp", "recovery", "lettercode")


@pytest.mark.usefixtures("plugin_on_path")
@pytest.mark.parametrize("value", [{"period": 5}, {"period": "soon"}, {"colour": "red"}])
def test_a_bad_setting_of_an_installed_method_stops_the_start(value: dict[str, object]) -> None:
    with pytest.raises(RuntimeError, match="settings of the lettercode method"):
        load_registry({"lettercode": value})
