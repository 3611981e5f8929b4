"""Push tests: the server's public URL is a loopback address, as the protocol requires https
or loopback http for the activation URI."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"public_url": "http://localhost"}
