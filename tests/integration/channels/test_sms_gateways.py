"""The text-message gateways against real receivers started here: an HTTP server on loopback
(answers, 5xx, timeouts, failover to a second gateway), an SMTP server (aiosmtpd) for
email-to-SMS, and the development file."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from portvakt.channels.sms import (
    FileGateway,
    GatewayError,
    HttpGateway,
    Message,
    SmtpGateway,
    TextQueue,
    from_settings,
)
from portvakt.settings import Settings, SmsHttpSettings, SmsSmtpSettings

TEXT = "Portvakt code: 123456\n\n@mfa.example.org #123456"


@dataclass
class Receiver:
    """What the loopback operator answers (statuses in turn, then 200) and what it got."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    got: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def operator() -> Iterator[Receiver]:
    with running_operator() as receiver:
        yield receiver


@contextmanager
def running_operator() -> Iterator[Receiver]:
    """An operator's HTTP API on loopback, in a thread, answering as ``Receiver`` says."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            receiver.got.append(
                {"path": self.path, "headers": dict(self.headers), "body": body.decode()}
            )
            if receiver.delay:
                time.sleep(receiver.delay)
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield receiver
    server.shutdown()
    server.server_close()


def http(receiver: Receiver, path: str = "/send", timeout: float = 2.0) -> HttpGateway:
    conf = SmsHttpSettings(url=receiver.url + path, headers={"authorization": "Bearer k"})
    return HttpGateway(conf, sender="Portvakt", timeout=timeout)


def test_http_gateway_posts_the_json_body_with_the_headers(operator: Receiver) -> None:
    http(operator).send(Message("+4712345678", TEXT))
    got = operator.got[0]
    assert got["headers"]["authorization"] == "Bearer k"
    assert json.loads(got["body"]) == {"to": "+4712345678", "text": TEXT, "from": "Portvakt"}


def test_http_gateway_escapes_a_form_body_and_the_url(operator: Receiver) -> None:
    conf = SmsHttpSettings(
        url=operator.url + "/send?to=$to",
        body="msg=$text&from=$sender",
        content_type="application/x-www-form-urlencoded",
    )
    HttpGateway(conf, sender="Portvakt", timeout=2).send(Message("+4712345678", "a&b=c"))
    got = operator.got[0]
    assert got["path"] == "/send?to=%2B4712345678"
    assert got["body"] == "msg=a%26b%3Dc&from=Portvakt"


def test_http_gateway_server_error_is_worth_a_retry(operator: Receiver) -> None:
    operator.statuses = [503]
    with pytest.raises(GatewayError) as caught:
        http(operator).send(Message("+4712345678", TEXT))
    assert caught.value.retry


def test_http_gateway_client_error_is_not_retried(operator: Receiver) -> None:
    operator.statuses = [401]
    with pytest.raises(GatewayError) as caught:
        http(operator).send(Message("+4712345678", TEXT))
    assert not caught.value.retry


def test_http_gateway_times_out_within_its_bound(operator: Receiver) -> None:
    operator.delay = 1.5
    started = time.monotonic()
    with pytest.raises(GatewayError, match="timed out"):
        http(operator, timeout=0.3).send(Message("+4712345678", TEXT))
    assert time.monotonic() - started < 1.2


def test_http_gateway_unreachable_is_a_gateway_error() -> None:
    conf = SmsHttpSettings(url="http://127.0.0.1:9/send")
    with pytest.raises(GatewayError):
        HttpGateway(conf, sender="P", timeout=1).send(Message("+4712345678", TEXT))


def test_queue_returns_at_once_and_retries_a_5xx(operator: Receiver) -> None:
    operator.statuses = [500]
    operator.delay = 0.2
    queue = TextQueue([http(operator)], retries=1, backoff=0.01)
    started = time.monotonic()
    queue.send("+4712345678", {"text": TEXT})
    assert time.monotonic() - started < 0.1  # the request never waits for the operator
    assert queue.join()
    assert len(operator.got) == 2  # a 5xx, then the retry that got through
    queue.close()


def test_queue_fails_over_to_the_second_gateway(operator: Receiver, tmp_path: Path) -> None:
    operator.statuses = [502, 502]
    failures: list[str] = []
    file = FileGateway(tmp_path / "sms.jsonl")
    queue = TextQueue(
        [http(operator), file],
        retries=1,
        backoff=0.01,
        on_failure=lambda to, payload, error: failures.append(error),
    )
    queue.send("+4712345678", {"text": TEXT})
    assert queue.join()
    lines = (tmp_path / "sms.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"to": "+4712345678", "text": TEXT}]
    assert failures == []
    queue.close()


def test_queue_reports_when_every_gateway_failed(operator: Receiver) -> None:
    operator.statuses = [500, 500, 403]
    second = Receiver()
    failures: list[tuple[str, Mapping[str, Any], str]] = []
    queue = TextQueue(
        [http(operator), HttpGateway(SmsHttpSettings(url=operator.url), sender="P", timeout=1)],
        retries=1,
        backoff=0.01,
        on_failure=lambda to, payload, error: failures.append((to, payload, error)),
    )
    queue.send("+4712345678", {"text": TEXT, "tx": "abc"})
    assert queue.join()
    assert len(operator.got) == 3  # 500, retried 500, then the second gateway's 403 (no retry)
    assert failures == [("+4712345678", {"text": TEXT, "tx": "abc"}, "http: HTTP 403")]
    assert second.got == []
    queue.close()


def test_queue_full_drops_and_reports(tmp_path: Path) -> None:
    class Stuck:
        name = "stuck"
        release = threading.Event()

        def send(self, message: Message) -> None:
            self.release.wait(5)

    failures: list[str] = []
    stuck = Stuck()
    queue = TextQueue([stuck], size=1, on_failure=lambda to, p, error: failures.append(error))
    queue.send("+4712345678", {"text": "1"})
    time.sleep(0.05)  # the worker holds the first
    queue.send("+4712345678", {"text": "2"})
    queue.send("+4712345678", {"text": "3"})
    assert failures == ["queue full"]
    stuck.release.set()
    assert queue.join()
    queue.close()


def test_file_gateway_appends_json_lines(tmp_path: Path) -> None:
    gateway = FileGateway(tmp_path / "sms.jsonl")
    gateway.send(Message("+4712345678", "første"))
    gateway.send(Message("+4798765432", TEXT))
    lines = [json.loads(line) for line in (tmp_path / "sms.jsonl").read_text().splitlines()]
    assert lines == [
        {"to": "+4712345678", "text": "første"},
        {"to": "+4798765432", "text": TEXT},
    ]


def test_file_gateway_unwritable_is_a_gateway_error(tmp_path: Path) -> None:
    with pytest.raises(GatewayError):
        FileGateway(tmp_path / "missing" / "sms.jsonl").send(Message("+4712345678", TEXT))


class Inbox:
    def __init__(self) -> None:
        self.mails: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.mails.append(envelope)
        return "250 OK"


def test_smtp_gateway_mails_the_operator_address() -> None:
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd checks readiness on its port)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        conf = SmsSmtpSettings(
            host="127.0.0.1",
            port=port,
            starttls=False,
            sender="mfa@example.org",
            recipient="$number@sms.example.org",
        )
        SmtpGateway(conf, timeout=2).send(Message("+4712345678", TEXT))
    finally:
        controller.stop()
    (mail,) = inbox.mails
    assert mail.rcpt_tos == ["4712345678@sms.example.org"]
    assert isinstance(mail.content, bytes)
    body = message_from_bytes(mail.content).get_payload(decode=True)
    assert isinstance(body, bytes)
    assert body.decode().replace("\r\n", "\n").strip() == TEXT


def test_smtp_gateway_unreachable_is_a_gateway_error() -> None:
    conf = SmsSmtpSettings(host="127.0.0.1", port=9, starttls=False, sender="a@example.org")
    with pytest.raises(GatewayError):
        SmtpGateway(conf, timeout=1).send(Message("+4712345678", TEXT))


def test_from_settings_builds_the_gateways_in_order(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        sms_gateway="http",
        sms_fallback_gateway="file",
        sms_http=SmsHttpSettings(url="https://sms.example.org/send"),
        sms_file=tmp_path / "sms.jsonl",
    )
    queue = from_settings(settings)
    assert queue is not None
    assert [g.name for g in queue.gateways] == ["http", "file"]
    assert from_settings(Settings(data_dir=tmp_path)) is None
    with pytest.raises(ValueError, match="sms_file"):
        from_settings(Settings(data_dir=tmp_path, sms_gateway="file"))


def test_a_message_repr_hides_its_text() -> None:
    shown = repr(Message("+4712345678", TEXT))
    assert "123456" not in shown and "78" in shown


def test_from_settings_names_what_a_gateway_misses(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sms_smtp"):
        from_settings(Settings(data_dir=tmp_path, sms_gateway="smtp"))
    with pytest.raises(ValueError, match="sms_http"):
        from_settings(Settings(data_dir=tmp_path, sms_gateway="http"))
    smtp = SmsSmtpSettings(host="127.0.0.1", sender="mfa@example.org")
    queue = from_settings(Settings(data_dir=tmp_path, sms_gateway="smtp", sms_smtp=smtp))
    assert queue is not None and [g.name for g in queue.gateways] == ["smtp"]
    with pytest.raises(ValueError):
        TextQueue([])


def test_close_sends_what_is_queued_then_stops(tmp_path: Path) -> None:
    queue = TextQueue([FileGateway(tmp_path / "sms.jsonl")])
    queue.close()  # never started: nothing to do
    for n in range(3):
        queue.send("+4712345678", {"text": str(n)})
    queue.close()
    assert len((tmp_path / "sms.jsonl").read_text().splitlines()) == 3


class Refusing(Inbox):
    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        return "550 no such number"


def test_smtp_gateway_refused_recipient_is_not_retried() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        conf = SmsSmtpSettings(host="127.0.0.1", port=port, starttls=False, sender="a@example.org")
        with pytest.raises(GatewayError) as caught:
            SmtpGateway(conf, timeout=2).send(Message("+4712345678", TEXT))
    finally:
        controller.stop()
    assert not caught.value.retry


def test_a_broken_gateway_or_hook_never_stops_the_worker(tmp_path: Path) -> None:
    class Broken:
        name = "broken"

        def send(self, message: Message) -> None:
            raise RuntimeError("bug")

    def hook(to: str, payload: Mapping[str, Any], error: str) -> None:
        raise RuntimeError("hook bug")

    queue = TextQueue([Broken()], on_failure=hook)
    queue.send("+4712345678", {"text": "1"})
    assert queue.join()
    failing = TextQueue(
        [HttpGateway(SmsHttpSettings(url="http://127.0.0.1:9/"), sender="P", timeout=1)],
        retries=0,
        on_failure=hook,
    )
    failing.send("+4712345678", {"text": "2"})
    assert failing.join()
    file = TextQueue([FileGateway(tmp_path / "sms.jsonl")])
    file.send("+4712345678", {"text": "3"})
    assert file.join()
    for each in (queue, failing, file):
        each.close()


def test_a_plain_text_body_is_sent_as_it_is(operator: Receiver) -> None:
    conf = SmsHttpSettings(url=operator.url + "/send", body="$to $text", content_type="text/plain")
    HttpGateway(conf, sender="P", timeout=2).send(Message("+4712345678", "a&b"))
    assert operator.got[0]["body"] == "+4712345678 a&b"
