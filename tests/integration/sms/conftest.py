"""SMS tests through the real app: the development file gateway (``sms_file``), read back as
the person's phone would get the texts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from portvakt.app import Runtime
from portvakt.channels.sms import TextQueue
from portvakt.core import enrollment, users
from portvakt.domain import Door, UserRef
from tests.conftest import PASSWORD

PHONE = "+4791234567"


@pytest.fixture
def sms_file(tmp_path: Path) -> Path:
    return tmp_path / "sms.jsonl"


@pytest.fixture
def settings_overrides(sms_file: Path) -> dict[str, Any]:
    return {"sms_gateway": "file", "sms_file": sms_file, "public_url": "http://localhost"}


def texts(runtime: Runtime, path: Path) -> list[dict[str, str]]:
    """Every text sent so far (after the queue has handed them over)."""
    queue = runtime.core.senders["sms"]
    assert isinstance(queue, TextQueue) and queue.join()
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def last_code(runtime: Runtime, path: Path, to: str = PHONE) -> str:
    sent = [t for t in texts(runtime, path) if t["to"] == to]
    assert sent, f"no text to {to}"
    found = re.search(r"#(\d{6})$", sent[-1]["text"])
    assert found is not None, sent[-1]
    return found.group(1)


def add_phone(runtime: Runtime, path: Path, user: UserRef, phone: str = PHONE) -> int:
    """``user`` confirms ``phone`` through the core; the credential's id."""
    ctx = runtime.context(Door.CLI, actor="test")
    pending = enrollment.begin(
        runtime.core, ctx, user_id=user.id, kind="sms", answers={"phone": phone}
    )
    code = last_code(runtime, path, phone)
    enrollment.confirm(runtime.core, ctx, user_id=user.id, credential_id=pending, code=code)
    return pending


def person(runtime: Runtime, username: str, phone: str | None = None) -> UserRef:
    ctx = runtime.context(Door.CLI, actor="test")
    return users.add(
        runtime.core, ctx, username=username, password=PASSWORD, display_name=username, phone=phone
    )
