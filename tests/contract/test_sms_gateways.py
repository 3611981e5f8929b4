"""Every built-in text-message gateway against a real receiver: the development file, an HTTP
operator on loopback, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from portvakt.channels.sms import FileGateway, Gateway, HttpGateway, SmtpGateway
from portvakt.settings import SmsHttpSettings, SmsSmtpSettings
from tests.contract.sms_gateways import GatewayContract
from tests.integration.channels.test_sms_gateways import Inbox, Receiver, running_operator


class TestFileGateway(GatewayContract):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.path = tmp_path / "sms.jsonl"

    def gateway(self) -> Gateway:
        return FileGateway(self.path)

    def received(self) -> list[tuple[str, str]]:
        lines = [json.loads(line) for line in self.path.read_text().splitlines()]
        return [(line["to"], line["text"]) for line in lines]

    def refuse(self) -> None:
        self.path = self.path.parent / "missing" / "sms.jsonl"


class TestHttpGateway(GatewayContract):
    @pytest.fixture(autouse=True)
    def _operator(self) -> Iterator[None]:
        with running_operator() as receiver:
            self.operator: Receiver = receiver
            yield

    def gateway(self) -> Gateway:
        conf = SmsHttpSettings(url=self.operator.url + "/send")
        return HttpGateway(conf, sender="Portvakt", timeout=2)

    def received(self) -> list[tuple[str, str]]:
        bodies = [json.loads(got["body"]) for got in self.operator.got]
        return [(body["to"], body["text"]) for body in bodies]

    def refuse(self) -> None:
        self.operator.statuses = [400]


class TestSmtpGateway(GatewayContract):
    @pytest.fixture(autouse=True)
    def _server(self) -> Iterator[None]:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.inbox = Inbox()
        controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        controller.start()
        try:
            yield
        finally:
            controller.stop()

    def gateway(self) -> Gateway:
        conf = SmsSmtpSettings(
            host="127.0.0.1", port=self.port, starttls=False, sender="mfa@example.org"
        )
        return SmtpGateway(conf, timeout=2)

    def received(self) -> list[tuple[str, str]]:
        found = []
        for mail in self.inbox.mails:
            assert isinstance(mail.content, bytes)
            body = message_from_bytes(mail.content).get_payload(decode=True)
            assert isinstance(body, bytes)
            text = body.decode().replace("\r\n", "\n").removesuffix("\n")
            number = "+" + mail.rcpt_tos[0].split("@")[0]
            found.append((number, text))
        return found

    def refuse(self) -> None:
        self.port = 9  # nothing listens there
