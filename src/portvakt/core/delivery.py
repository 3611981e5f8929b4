"""After a challenge's transaction commits: end the waits it superseded, hand its deliveries
to their ports (the built-in notifier, or a ``portvakt.channels`` sender), and tell waiting
apps and pages of an answer. Also where a request comes from, as a challenge shows it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from portvakt.context import Context
from portvakt.core.agents import agent_of
from portvakt.core.base import Core
from portvakt.methods.base import Delivery

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
