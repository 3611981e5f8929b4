"""The text-message gateway contract (channels/sms/base.py): a mixin every gateway's tests
subclass with a driver that makes the gateway against a receiver it controls, reads what the
receiver got, and makes the receiver refuse. What the queue relies on: a message arrives with
its number and its text unchanged (any language, the WebOTP line intact); a receiver that
refuses is a ``GatewayError``, never another exception."""

from __future__ import annotations

import pytest

from portvakt.channels.sms import Gateway, GatewayError, Message

TEXTS = [
    "123456 er koden din for Portvakt. Ikke del den med noen.\n\n@mfa.example.org #123456",
    'Quotes " and \\ and & = + % and emoji ☎',
]


class GatewayContract:
    def gateway(self) -> Gateway:
        raise NotImplementedError

    def received(self) -> list[tuple[str, str]]:
        """(number, text) of every message the receiver got, in order."""
        raise NotImplementedError

    def refuse(self) -> None:
        """Make the receiver refuse what comes next."""
        raise NotImplementedError

    @pytest.mark.parametrize("text", TEXTS)
    def test_a_message_arrives_unchanged(self, text: str) -> None:
        self.gateway().send(Message("+4791234567", text))
        assert self.received()[-1] == ("+4791234567", text)

    def test_a_refusal_is_a_gateway_error(self) -> None:
        self.refuse()
        with pytest.raises(GatewayError):
            self.gateway().send(Message("+4791234567", TEXTS[0]))

    def test_the_gateway_has_a_name(self) -> None:
        assert self.gateway().name in {"http", "smtp", "file"}
