"""Text messages (SMS): the ``Sender`` behind the delivery channel of that name, built from
the ``sms_*`` settings (docs/operators/sms.md). Registered as a ``portvakt.channels`` entry
point, as a plugin's channel would be."""

from __future__ import annotations

from portvakt.channels.sms.base import Gateway, GatewayError, Message
from portvakt.channels.sms.file import FileGateway
from portvakt.channels.sms.http import HttpGateway
from portvakt.channels.sms.queue import TextQueue
from portvakt.channels.sms.smtp import SmtpGateway
from portvakt.settings import Settings

__all__ = [
    "FileGateway",
    "Gateway",
    "GatewayError",
    "HttpGateway",
    "Message",
    "SmtpGateway",
    "TextQueue",
    "from_settings",
    "gateway",
]


def gateway(settings: Settings, name: str, *, fallback: bool = False) -> Gateway:
    """One configured gateway; ``ValueError`` naming the missing setting."""
    timeout = settings.sms_timeout_seconds
    if name == "file":
        if settings.sms_file is None:
            raise ValueError("sms_gateway = file needs sms_file (PORTVAKT_SMS_FILE)")
        return FileGateway(settings.sms_file)
    if name == "smtp":
        if settings.sms_smtp is None:
            raise ValueError("sms_gateway = smtp needs [sms_smtp] (host, sender, recipient)")
        return SmtpGateway(settings.sms_smtp, timeout=timeout)
    conf = (settings.sms_fallback_http if fallback else None) or settings.sms_http
    if conf is None:
        raise ValueError("sms_gateway = http needs [sms_http] (url, body, headers)")
    return HttpGateway(conf, sender=settings.sms_sender, timeout=timeout)


def from_settings(settings: Settings) -> TextQueue | None:
    """The queue over the configured gateways, or None when no gateway is configured."""
    if settings.sms_gateway is None:
        return None
    gateways = [gateway(settings, settings.sms_gateway)]
    if settings.sms_fallback_gateway is not None:
        gateways.append(gateway(settings, settings.sms_fallback_gateway, fallback=True))
    return TextQueue(gateways, retries=settings.sms_retries)
