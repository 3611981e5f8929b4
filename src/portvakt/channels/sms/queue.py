"""Sending off the request: ``TextQueue.send`` (the core's ``Sender`` port, called after the
commit) only puts the message on a bounded in-process queue; one worker thread sends it through
the gateways in order, each with a bounded timeout and a few retries, failing over to the next.
No request waits for a gateway and no thread is held per message. A gateway's failure is never
the person's: it is logged (without the text), and when every gateway failed ``on_failure``
hears of it (the core audits it and tells the waiting page)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from portvakt.channels.sms.base import Gateway, GatewayError, Message, masked

log = logging.getLogger("portvakt.channels.sms")
Failure = Callable[[str, Mapping[str, Any], str], None]  # (to, payload, last error)


class TextQueue:
    def __init__(
        self,
        gateways: Sequence[Gateway],
        *,
        retries: int = 1,
        backoff: float = 0.5,
        size: int = 1000,
        on_failure: Failure | None = None,
    ) -> None:
        if not gateways:
            raise ValueError("a text queue needs at least one gateway")
        self.gateways = tuple(gateways)
        self.retries = retries
        self.backoff = backoff
        self.on_failure = on_failure
        self._queue: queue.Queue[tuple[Message, Mapping[str, Any]] | None] = queue.Queue(size)
        self._worker: threading.Thread | None = None
        self._start = threading.Lock()

    def send(self, to: str, payload: Mapping[str, Any]) -> None:
        """Queue one message (``payload["text"]``); never waits for a gateway."""
        message = Message(to=to, text=str(payload.get("text", "")))
        self._ensure_worker()
        try:
            self._queue.put_nowait((message, payload))
        except queue.Full:
            log.error("text message to %s dropped: the send queue is full", masked(to))
            self._failed(message, payload, "queue full")

    def join(self, timeout: float = 10.0) -> bool:
        """Wait until every queued message was handled (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (for up to ``timeout`` seconds), stop the worker, and let the
        gateways close their connections."""
        worker = self._worker
        if worker is not None and worker.is_alive():
            try:
                self._queue.put(None, timeout=timeout)
            except queue.Full:
                log.error("text message worker still busy at shutdown; queued texts are lost")
                return
            worker.join(timeout=timeout)
        for gateway in self.gateways:
            closing = getattr(gateway, "close", None)
            if callable(closing):
                closing()

    def _ensure_worker(self) -> None:
        with self._start:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._run, name="portvakt-text-queue", daemon=True
                )
                self._worker.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._deliver(*item)
            except Exception:  # the worker must outlive any one message
                log.exception("text message worker")
            finally:
                self._queue.task_done()

    def _deliver(self, message: Message, payload: Mapping[str, Any]) -> None:
        last = ""
        for gateway in self.gateways:
            for attempt in range(self.retries + 1):
                try:
                    gateway.send(message)
                except GatewayError as exc:
                    last = f"{gateway.name}: {exc}"
                    log.warning(
                        "text message to %s: gateway %s failed (try %d): %s",
                        masked(message.to),
                        gateway.name,
                        attempt + 1,
                        exc,
                    )
                    if not exc.retry:
                        break
                    if attempt < self.retries:
                        time.sleep(self.backoff * 2**attempt)
                    continue
                log.info("text message to %s sent by %s", masked(message.to), gateway.name)
                return
        log.error("text message to %s not sent: every gateway failed", masked(message.to))
        self._failed(message, payload, last)

    def _failed(self, message: Message, payload: Mapping[str, Any], error: str) -> None:
        if self.on_failure is not None:
            try:
                self.on_failure(message.to, payload, error)
            except Exception:
                log.exception("text message failure hook")
