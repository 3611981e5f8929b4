"""Assurance levels (``acr``) and authentication methods (``amr``, RFC 8176) of a sign-in.

What a session reports is what happened in *that* sign-in: a remembered device or a grace
period skip is ``pwd`` only, whatever the person proved on an earlier day."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from portvakt.core.sessions import SessionView
from portvakt.methods.base import Grant, Strength
from portvakt.methods.registry import Registry

ACR_PREFIX = "urn:portvakt:acr:"


class Level(enum.IntEnum):
    PWD = 1  # password only
    MFA = 2  # password and a second factor
    PHR = 3  # password and a phishing-resistant factor (security key)

    @property
    def acr(self) -> str:
        return ACR_PREFIX + self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Level | None:
        """``urn:portvakt:acr:mfa`` or the short name ``mfa``; None for anything else."""
        name = value.removeprefix(ACR_PREFIX).upper()
        return cls.__members__.get(name)

    @classmethod
    def lowest_of(cls, values: Iterable[str]) -> Level:
        """``acr_values`` lists acceptable levels; the weakest recognised one is required.
        Unknown values are ignored (OpenID Connect Core 3.1.2.1: acr_values is voluntary)."""
        known = [level for v in values if (level := cls.parse(v)) is not None]
        return min(known) if known else cls.PWD


def session_level(registry: Registry, view: SessionView) -> Level:
    if view.factor_at is None or view.method is None or view.method not in registry.kinds():
        return Level.PWD
    strength = registry.get(view.method).capabilities.strength
    return Level.PHR if strength is Strength.PHISHING_RESISTANT else Level.MFA


def session_amr(registry: Registry, view: SessionView) -> list[str]:
    amr = ["pwd"] if view.password else []
    if session_level(registry, view) is not Level.PWD and view.method is not None:
        amr.extend(registry.get(view.method).capabilities.amr)
        amr.append("mfa")
    return list(dict.fromkeys(amr))


def reachable(registry: Registry, kinds: Iterable[str], level: Level) -> bool:
    """Whether someone with these active method kinds can reach ``level`` by a step-up."""
    if level is Level.PWD:
        return True
    strengths = {
        registry.get(k).capabilities.strength
        for k in kinds
        if k in registry.kinds() and registry.grants(k) is Grant.FULL  # a pass never steps up
    }
    if level is Level.PHR:
        return Strength.PHISHING_RESISTANT in strengths
    return bool(strengths)
