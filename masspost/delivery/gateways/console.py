"""The console gateway: prints each message to standard output. For development on the operator's own
terminal only: it shows the message as a patient would get it, so never point a production worker at it."""

from __future__ import annotations

import sys

from masspost.delivery.gateways.base import OutgoingMessage, SendResult


class ConsoleGateway:
    name = "console"

    def open(self) -> None:
        pass

    def send(self, message: OutgoingMessage) -> SendResult:
        head = f"--- {message.channel} #{message.message_id} to {message.to} ({message.language})"
        if message.channel == "sms":
            head += f" {message.encoding}, {message.parts} part(s)"
        lines = [head] + ([f"Subject: {message.subject}"] if message.subject else []) + [message.text, ""]
        sys.stdout.write("\n".join(lines))
        sys.stdout.flush()
        return SendResult.accepted(f"console-{message.message_id}")

    def close(self) -> None:
        pass


def from_url(url: str) -> ConsoleGateway:
    return ConsoleGateway()
