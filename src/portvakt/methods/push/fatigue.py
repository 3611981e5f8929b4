"""Push fatigue (PUSH-03, PUSH-04), decided from the person's recent push challenges alone:
paused for a while after "No, it's not me"; at most N requests that did not end in a sign-in
and M denials per window, counted since the last approved one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from portvakt import protocol
from portvakt.domain import ChallengeState, ChallengeView, Purpose
from portvakt.errors import Throttled
from portvakt.methods.push.settings import PushSettings

SUCCESS = frozenset({ChallengeState.APPROVED, ChallengeState.USED})


def refusal(conf: PushSettings, recent: Sequence[ChallengeView], now: datetime) -> Throttled | None:
    """Why a new push must not be sent now, or None. ``recent``: newest first."""
    asked = [c for c in recent if c.purpose is not Purpose.ENROLLMENT]
    pause = timedelta(minutes=conf.pause_minutes)
    for challenge in asked:
        at = challenge.answered_at or challenge.created_at
        if _fraud(challenge) and at + pause > now:
            seconds = int((at + pause - now).total_seconds())
            return Throttled("push_paused", retry_after=max(1, seconds))
    since = now - timedelta(seconds=conf.window_seconds)
    unanswered = []
    for challenge in asked:
        if challenge.created_at <= since or challenge.state in SUCCESS:
            break  # a success resets the count
        unanswered.append(challenge)
    retry = int(conf.window_seconds)
    denials = sum(c.state is ChallengeState.DENIED for c in unanswered)
    if denials >= conf.max_denials:
        return Throttled("push_cooldown", retry_after=retry)
    if len(unanswered) >= conf.max_unanswered:
        return Throttled("push_rate_limited", retry_after=retry)
    return None


def _fraud(challenge: ChallengeView) -> bool:
    return (
        challenge.state is ChallengeState.DENIED and challenge.reason == protocol.DenyReason.NOT_ME
    )
