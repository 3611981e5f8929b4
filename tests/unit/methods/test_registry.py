"""The explicit method registry: built-ins plus entry points, duplicates are an error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from portvakt.methods import registry
from portvakt.methods.registry import BUILT_IN, Registry, load_registry
from portvakt.methods.totp import TotpMethod


class OtherTotp(TotpMethod):
    """A second class claiming the same kind."""


class PluginMethod(TotpMethod):
    kind: ClassVar[str] = "plugin"


@dataclass(frozen=True)
class FakeEntryPoint:
    target: type[TotpMethod]

    def load(self) -> type[TotpMethod]:
        return self.target


def fake_entry_points(*targets: type[TotpMethod]) -> tuple[list[str], object]:
    groups: list[str] = []

    def entry_points(*, group: str) -> list[FakeEntryPoint]:
        groups.append(group)
        return [FakeEntryPoint(target) for target in targets]

    return groups, entry_points


def test_registry_holds_the_built_in_kinds() -> None:
    """STYLE §3.3: a tuple of built-ins, keyed by kind."""
    methods = Registry(BUILT_IN)
    assert methods.kinds() == tuple(cls.kind for cls in BUILT_IN)
    assert "totp" in methods
    assert isinstance(methods.get("totp"), TotpMethod)


def test_registry_returns_same_instance_per_kind() -> None:
    methods = Registry(BUILT_IN)
    assert methods.get("totp") is methods.get("totp")


@pytest.mark.parametrize(
    "classes",
    [
        pytest.param((TotpMethod, TotpMethod), id="same-class-twice"),
        pytest.param((TotpMethod, OtherTotp), id="two-classes-same-kind"),
    ],
)
def test_registry_rejects_duplicate_kind(classes: tuple[type[TotpMethod], ...]) -> None:
    """STYLE §3.3: two methods claiming one kind is a start-up error."""
    with pytest.raises(RuntimeError, match="'totp'"):
        Registry(classes)


def test_registry_get_raises_key_error_for_unknown_kind() -> None:
    methods = Registry(BUILT_IN)
    with pytest.raises(KeyError):
        methods.get("voice")


@pytest.mark.parametrize("kind", ["voice", "TOTP", "", 42, None])
def test_registry_does_not_contain_unknown_kind(kind: object) -> None:
    assert kind not in Registry(BUILT_IN)


def test_load_registry_adds_entry_point_methods_after_built_ins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """STYLE §3.3: one entry-point group, ``portvakt.methods``, after the built-ins."""
    groups, entry_points = fake_entry_points(PluginMethod)
    monkeypatch.setattr(registry, "entry_points", entry_points)
    methods = load_registry()
    assert groups == ["portvakt.methods"]
    assert methods.kinds() == (*(cls.kind for cls in BUILT_IN), "plugin")
    assert isinstance(methods.get("plugin"), PluginMethod)


def test_load_registry_rejects_plugin_claiming_built_in_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """STYLE §3.3: a plugin cannot silently replace a built-in kind."""
    _, entry_points = fake_entry_points(OtherTotp)
    monkeypatch.setattr(registry, "entry_points", entry_points)
    with pytest.raises(RuntimeError, match="two methods claim the kind 'totp'"):
        load_registry()


def test_load_registry_without_plugins_has_only_built_ins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, entry_points = fake_entry_points()
    monkeypatch.setattr(registry, "entry_points", entry_points)
    assert load_registry().kinds() == tuple(cls.kind for cls in BUILT_IN)
