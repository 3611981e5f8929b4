"""Explicit registry: a tuple of built-in kinds plus the ``portvakt.methods`` entry points.
A duplicate kind is a start-up error."""

from __future__ import annotations

from importlib.metadata import entry_points

from portvakt.methods.base import Method
from portvakt.methods.push import PushMethod
from portvakt.methods.totp import TotpMethod

BUILT_IN: tuple[type[Method], ...] = (TotpMethod, PushMethod)


class Registry:
    def __init__(self, classes: tuple[type[Method], ...]) -> None:
        self._methods: dict[str, Method] = {}
        for cls in classes:
            if cls.kind in self._methods:
                raise RuntimeError(f"two methods claim the kind {cls.kind!r}")
            self._methods[cls.kind] = cls()

    def get(self, kind: str) -> Method:
        return self._methods[kind]

    def kinds(self) -> tuple[str, ...]:
        return tuple(self._methods)

    def __contains__(self, kind: object) -> bool:
        return kind in self._methods


def load_registry() -> Registry:
    plugins = tuple(ep.load() for ep in entry_points(group="portvakt.methods"))
    return Registry(BUILT_IN + plugins)
