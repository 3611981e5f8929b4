"""A generic HTTP gateway: most operators take one request with the number and the text, as
JSON or a form, authorised by a header. URL, method, headers and body come from the settings
(``SmsHttpSettings``); ``$to``, ``$text`` and ``$sender`` are replaced, escaped for where they
stand. A 2xx answer is success, a 5xx or a timeout is worth a retry, a 4xx is not."""

from __future__ import annotations

import json
import threading
from string import Template
from urllib.parse import quote, quote_plus

import httpx

from portvakt.channels.sms.base import GatewayError, Message
from portvakt.settings import SmsHttpSettings

SERVER_ERROR = 500
CLIENT_ERROR = 400
SUCCESS = 200
REDIRECT = 300


def _escape(value: str, content_type: str) -> str:
    if "json" in content_type:
        return json.dumps(value, ensure_ascii=False)[1:-1]
    if "x-www-form-urlencoded" in content_type:
        return quote_plus(value)
    return value


class HttpGateway:
    name = "http"

    def __init__(self, conf: SmsHttpSettings, *, sender: str, timeout: float) -> None:
        self.conf = conf
        self.sender = sender
        self.timeout = timeout
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def _http(self) -> httpx.Client:
        """One client for the gateway's life: its TLS context is built once (loading the CA
        bundle costs ~20 ms) and its connections are kept alive between messages."""
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout, follow_redirects=False)
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def request(self, message: Message) -> tuple[str, bytes]:
        """The URL and body for ``message``."""
        values = {"to": message.to, "text": message.text, "sender": self.sender}
        url = Template(self.conf.url).safe_substitute({k: quote(v) for k, v in values.items()})
        kind = self.conf.content_type.lower()
        escaped = {k: _escape(v, kind) for k, v in values.items()}
        body = Template(self.conf.body).safe_substitute(escaped)
        return url, body.encode()

    def send(self, message: Message) -> None:
        url, body = self.request(message)
        headers = {"content-type": self.conf.content_type, **self.conf.headers}
        try:
            answer = self._http().request(
                self.conf.method,
                url,
                headers=headers,
                content=None if self.conf.method == "GET" else body,
            )
        except httpx.TimeoutException as exc:
            raise GatewayError(f"timed out after {self.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise GatewayError(f"{type(exc).__name__}: {exc}") from exc
        status = answer.status_code
        if SUCCESS <= status < REDIRECT:
            return
        raise GatewayError(f"HTTP {status}", retry=status >= SERVER_ERROR or status == 429)
