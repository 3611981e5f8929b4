"""After a challenge's transaction commits: end the waits it superseded, hand its deliveries
to their ports (the built-in notifier, or a ``portvakt.channels`` sender), and tell waiting
apps and pages of an answer. Also where a request comes from, as a challenge shows it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from portvakt.context import Context
from portvakt.core.agents import agent_of
from portvakt.core.audit import record
from portvakt.core.base import Core
from portvakt.methods.base import Delivery
from portvakt.store.repos import challenges

if TYPE_CHECKING:
    from portvakt.core.challenges import Shown


@dataclass(frozen=True, slots=True)
class Sent:
    user_id: int
    shown: Shown
    deliveries: tuple[Delivery, ...]
    superseded: tuple[str, ...]


def publish(core: Core, sent: Sent) -> None:
    """After the commit: end the superseded challenges' waits, send the deliveries."""
    for tx in sent.superseded:
        announce(core, sent.user_id, tx, "superseded")
    for delivery in sent.deliveries:
        deliver(core, delivery)


NOTIFY = "notify"  # the built-in channel: an event to the person's waiting apps and pages


def can_deliver(core: Core, channel: str) -> bool:
    return channel == NOTIFY or channel in core.senders


def deliver(core: Core, delivery: Delivery) -> None:
    """Hand one delivery to its port: the notifier, or the sender of its channel."""
    if delivery.channel == NOTIFY:
        core.notifier.publish(delivery.to, json.dumps(dict(delivery.payload)))
    else:
        core.senders[delivery.channel].send(delivery.to, delivery.payload)


def failed(core: Core, ctx: Context, channel: str, payload: Mapping[str, Any], error: str) -> None:
    """Every gateway of ``channel`` failed to send ``payload`` (a port calls this, from its own
    thread): audited (``delivery.failed``, never the person's failure), and the challenge it
    was for (``payload["tx"]``) says so to its waiting page (``reason`` ``undelivered``)."""
    tx = payload.get("tx")
    with core.store.write() as s:
        found = challenges.get(s, tx) if isinstance(tx, str) else None
        user_id = found.view.user_id if found is not None else None
        if found is not None:
            challenges.mark_undelivered(s, found.view.id)
        record(
            s,
            ctx,
            "delivery.failed",
            outcome="failure",
            user_id=user_id,
            method=found.view.kind if found is not None else None,
            details={"channel": channel, "error": error[:200], "tx": tx if found else None},
        )
    if found is not None and user_id is not None:
        announce(core, user_id, found.view.id, "undelivered")


def announce(core: Core, user_id: int, tx: str, state: str) -> None:
    message = json.dumps({"type": "answered", "tx": tx, "state": state})
    core.notifier.publish(f"tx:{tx}", message)
    core.notifier.publish(f"user:{user_id}", message)


def place(core: Core, ctx: Context) -> dict[str, str]:
    """Where the request comes from, for the person to recognise it."""
    agent = agent_of(ctx.user_agent)
    city, country = core.locator.locate(ctx.ip or "")
    found = {"city": city, "country": country}
    return {
        **{key: value for key, value in found.items() if value},
        "ip": ctx.ip or "",
        "browser": agent.browser,
        "os": agent.system,
    }
