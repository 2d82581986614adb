"""The in-memory gateway (like Django's locmem mail backend): keeps messages in a list in this process.

For tests and development of the worker itself. `memory:NAME` URLs share one `MemoryGateway.outboxes[NAME]`;
a test can queue scripted results (`script`) to make the next sends fail transiently or permanently.
"""

from __future__ import annotations

from collections import deque
from typing import ClassVar
from urllib.parse import urlsplit

from masspost.delivery.gateways.base import OutgoingMessage, SendResult


class MemoryGateway:
    name = "memory"
    outboxes: ClassVar[dict[str, list[OutgoingMessage]]] = {}
    scripts: ClassVar[dict[str, deque[SendResult]]] = {}

    def __init__(self, box: str) -> None:
        self.box = box
        self.opened = False

    @classmethod
    def reset(cls) -> None:
        cls.outboxes.clear()
        cls.scripts.clear()

    @classmethod
    def script(cls, box: str, *results: SendResult) -> None:
        cls.scripts.setdefault(box, deque()).extend(results)

    def open(self) -> None:
        self.opened = True

    def send(self, message: OutgoingMessage) -> SendResult:
        script = self.scripts.get(self.box)
        if script:
            result = script.popleft()
            if result.outcome != "accepted":
                return result
        self.outboxes.setdefault(self.box, []).append(message)
        return SendResult.accepted(f"mem-{message.message_id}")

    def close(self) -> None:
        self.opened = False


def from_url(url: str) -> MemoryGateway:
    return MemoryGateway(urlsplit(url).path or "default")
