"""Explicit registry: a tuple of built-in kinds plus the ``portvakt.methods`` entry points.
A duplicate kind, a kind that is not a short lower-case name, or a method setting that does
not validate is a start-up error. Each method's own folder may hold ``templates/`` (its
``name.html``, ``enroll.html`` and ``verify.html``), found here for the web door."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from portvakt.methods.base import Answer, Grant, Method
from portvakt.methods.oath import OathMethod
from portvakt.methods.push import PushMethod
from portvakt.methods.recovery import RecoveryMethod
from portvakt.methods.sms import SmsMethod
from portvakt.methods.tap import TapMethod
from portvakt.methods.totp import TotpMethod
from portvakt.methods.webauthn import WebAuthnMethod
from portvakt.methods.yubiotp import YubicoOtpMethod

BUILT_IN: tuple[type[Method], ...] = (
    TotpMethod,
    PushMethod,
    RecoveryMethod,
    WebAuthnMethod,
    TapMethod,
    OathMethod,
    YubicoOtpMethod,
    SmsMethod,
)
KIND = re.compile(r"^[a-z][a-z0-9_]{1,23}$")


class Registry:
    def __init__(
        self,
        classes: tuple[type[Method], ...],
        settings: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self._methods: dict[str, Method] = {}
        given = dict(settings or {})
        for cls in classes:
            if not KIND.match(cls.kind):
                raise RuntimeError(f"method kind {cls.kind!r} is not a short lower-case name")
            if cls.kind in self._methods:
                raise RuntimeError(f"two methods claim the kind {cls.kind!r}")
            method = cls()
            method.configure(_validated(cls, given.pop(cls.kind, {})))
            self._methods[cls.kind] = method
        if given:
            raise RuntimeError(f"settings for unknown methods: {', '.join(sorted(given))}")
        self._code_kinds: dict[str, tuple[str, ...]] = {}
        self._max_code: dict[str, int] = {}

    def get(self, kind: str) -> Method:
        return self._methods[kind]

    def kinds(self) -> tuple[str, ...]:
        return tuple(self._methods)

    def ordered(self, kinds: Iterable[str]) -> list[str]:
        """``kinds`` as pages list them: by name, the fallback kinds (recovery codes) last."""
        return sorted(kinds, key=lambda kind: (self.is_fallback(kind), kind))

    def is_fallback(self, kind: str) -> bool:
        method = self._methods.get(kind)
        return method is not None and method.capabilities.fallback

    def grants(self, kind: str) -> Grant:
        """What a sign-in with ``kind`` opens (``Capabilities.grants``); unknown: nothing more
        than adding a method."""
        method = self._methods.get(kind)
        return method.capabilities.grants if method is not None else Grant.ENROLLMENT

    def issued_kind(self) -> str | None:
        """The kind an operator issues (``Capabilities.issued_by_operator``), if one is
        registered (the first, when several are)."""
        found = [k for k, m in self._methods.items() if m.capabilities.issued_by_operator]
        return found[0] if found else None

    def __contains__(self, kind: object) -> bool:
        return kind in self._methods

    def code_kinds(self, door: str) -> tuple[str, ...]:
        """Kinds answered by a typed code at ``door`` without a challenge issued first (worked
        out once per door); a code that answers a challenge (SMS) is checked against it."""
        found = self._code_kinds.get(door)
        if found is None:
            found = self._code_kinds[door] = tuple(
                kind
                for kind, method in self._methods.items()
                if method.capabilities.answer is Answer.CODE
                and not method.capabilities.challenge
                and door in method.capabilities.doors
            )
        return found

    def importer(self, fmt: str) -> str | None:
        """The kind whose hardware tokens come in import files of format ``fmt``."""
        return next((k for k, m in self._methods.items() if fmt in m.import_formats), None)

    def token_kinds(self) -> tuple[str, ...]:
        """Kinds of hardware tokens kept in the operator's inventory (they import files)."""
        return tuple(kind for kind, m in self._methods.items() if m.import_formats)

    def max_code_length(self, door: str) -> int:
        """The longest raw typed code any kind takes at ``door`` (a door's input bound)."""
        found = self._max_code.get(door)
        if found is None:
            shapes = [self._methods[kind].capabilities.code for kind in self.code_kinds(door)]
            found = max((shape.max_length for shape in shapes if shape is not None), default=32)
            self._max_code[door] = found
        return found

    def template_folders(self) -> dict[str, Path]:
        """``kind -> folder`` for every method that ships its own templates."""
        return self._folders("templates")

    def static_folders(self) -> dict[str, Path]:
        """``kind -> folder`` of files served at ``/static/methods/<kind>/`` (a ceremony's
        script)."""
        return self._folders("static")

    def _folders(self, name: str) -> dict[str, Path]:
        folders = {}
        for kind, method in self._methods.items():
            module = sys.modules[type(method).__module__]
            folder = Path(module.__file__ or "").parent / name
            if folder.is_dir():
                folders[kind] = folder
        return folders


def _validated(cls: type[Method], values: Mapping[str, Any]) -> Any:
    model = cls.settings_model
    if model is None:
        if values:
            raise RuntimeError(f"the {cls.kind} method takes no settings")
        return None
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        raise RuntimeError(f"settings of the {cls.kind} method: {exc}") from exc


def plugin_classes() -> tuple[type[Method], ...]:
    return tuple(ep.load() for ep in entry_points(group="portvakt.methods"))


def load_registry(settings: Mapping[str, Mapping[str, Any]] | None = None) -> Registry:
    return Registry(BUILT_IN + plugin_classes(), settings)
