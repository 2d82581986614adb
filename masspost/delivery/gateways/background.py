"""`begin` / `finish` for a gateway that sends one message at a time (SMTP, file, console, memory).

Each begun batch goes to one sender thread of its own, which sends its messages in order with the gateway's
`send` and stops at the first transient result, as a windowed gateway does (the rest were never handed to the
peer). Batches are sent in the order they were begun, never two at once, so the gateway is only ever used by
one thread at a time. Meanwhile the caller's thread records the previous batch and claims the next one: the
network and the database overlap (docs/delivery.md, "How a worker sends").

The gateway must not touch the database from `send`: the sender thread has no connection of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from masspost.delivery.gateways.base import STOPS_A_GROUP, Gateway, OutgoingMessage, SendResult


class BackgroundSender:
    """Wraps a one-at-a-time gateway with `begin` / `finish` on one sender thread."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{gateway.name}-sender")

    def begin(self, messages: Sequence[OutgoingMessage]) -> Future[list[SendResult]]:
        return self._executor.submit(self._send_in_order, list(messages))

    def finish(self, handle: Future[list[SendResult]]) -> list[SendResult]:
        return handle.result()

    def close(self) -> None:
        # A group still queued behind a failed one is never begun: its rows stay `sending` and turn `unknown`.
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _send_in_order(self, messages: list[OutgoingMessage]) -> list[SendResult]:
        results = []
        for message in messages:
            result = self.gateway.send(message)
            results.append(result)
            if result.outcome in STOPS_A_GROUP:
                break
        return results
