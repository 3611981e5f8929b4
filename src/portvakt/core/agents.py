"""What people are shown of a browser's User-Agent header: its browser and system."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from user_agents import parse


@dataclass(frozen=True, slots=True)
class Agent:
    browser: str  # 'Firefox 128.0'
    system: str  # 'Mac OS X 10.15'
    system_family: str  # 'Mac OS X'


@lru_cache(maxsize=512)
def agent_of(header: str | None) -> Agent:
    """The browser and system a User-Agent header names (empty strings for none)."""
    if not header:
        return Agent("", "", "")
    parsed = parse(header)
    return Agent(
        browser=f"{parsed.browser.family} {parsed.browser.version_string}".strip(),
        system=f"{parsed.os.family} {parsed.os.version_string}".strip(),
        system_family=parsed.os.family,
    )
