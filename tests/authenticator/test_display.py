"""What the app prints of a request: context from the network is cleaned before it reaches a
terminal, and missing fields are left out."""

from __future__ import annotations

import time

from portvakt.protocol import ChallengeView, MatchMode
from portvakt_authenticator.display import clean, context_lines, describe, format_time


def _view(context: dict[str, object], purpose: str = "signin") -> ChallengeView:
    return ChallengeView(
        tx="t",
        nonce="n",
        purpose=purpose,
        expires_at=int(time.time()) + 60,
        match_mode=MatchMode.TYPE,
        digits=2,
        context=context,
    )


def test_clean_removes_terminal_escapes_and_bidi_overrides() -> None:
    assert clean("Fire\x1b[2Jfox\u202e\x9b31m\nOK") == "Fire [2Jfox 31m OK"
    assert clean("x" * 500, 10) == "xxxxxxxxx…"


def test_context_lines_show_what_is_there() -> None:
    lines = dict(
        context_lines(
            _view(
                {
                    "service": "Webmail",
                    "ip": "192.0.2.7",
                    "country": "Norway",
                    "browser": "Firefox",
                    "city": None,
                }
            )
        )
    )
    assert lines == {
        "Service": "Webmail",
        "IP address": "192.0.2.7",
        "Place": "Norway",
        "Browser": "Firefox",
    }
    assert dict(context_lines(_view({"os": "Linux"}, "activation"))) == {
        "Purpose": "Test approval of this app",
        "Browser": "Linux",
    }


def test_format_time_accepts_epoch_and_iso_and_keeps_anything_else_readable() -> None:
    assert len(format_time(1_795_000_000)) == len("2026-11-22 12:00:00")
    assert format_time("2026-11-22T12:00:00+00:00").startswith("2026-11-2")
    assert format_time("yesterday\x1b") == "yesterday"


def test_describe_known_and_unknown_codes() -> None:
    assert describe("wrong_number") == "wrong number: the sign-in was stopped"
    assert describe("brand_new_code") == "brand_new_code"
    assert describe("corrupt", "not JSON").endswith("(not JSON)")
