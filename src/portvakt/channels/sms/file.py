"""Development gateway: every message appended to a file as one JSON line (``to``, ``text``)
and written to the server log, so a developer can sign in without an operator."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from portvakt.channels.sms.base import GatewayError, Message

log = logging.getLogger("portvakt.channels.sms")


class FileGateway:
    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        line = json.dumps({"to": message.to, "text": message.text}, ensure_ascii=False)
        try:
            with self._lock, self.path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError as exc:
            raise GatewayError(f"cannot write {self.path}: {exc.strerror}", retry=False) from exc
        log.info("text message (development, file gateway) to %s: %s", message.to, message.text)
