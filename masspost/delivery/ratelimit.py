"""Rate limits per gateway that hold across all workers: the next free send slot lives in the database.

A worker reserves a slot (one row lock, held for one short statement), then waits for it outside any
transaction. Slots are spaced 1/rate apart, so no gateway gets more than `rate` sends in any second, however
many workers on however many machines share it. An SMS counts one slot per part: providers count submit_sm.
"""

from __future__ import annotations

import datetime as dt
import time
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from masspost.delivery.models import GatewayRate

# Slots 1/rate apart put exactly `rate` slots in a second, so a send that reaches the provider a few ms later than
# the next one puts rate + 1 into some one-second window at *its* end (measured on loopback under load: up to
# 8 ms). Pacing at rate / 1.03 keeps the configured rate at the receiving side for arrival jitter up to 30 ms, at
# 3 % of throughput (docs/delivery.md, "Rate limits").
HEADROOM = 0.03
LATE = timedelta(milliseconds=10)  # a send this far behind its slot takes a new one (see RateLimiter.wait)


class RateLimiter:
    def __init__(self, *, name: str, per_second: float) -> None:
        self.name = name
        self.interval = timedelta(seconds=(1 + HEADROOM) / per_second) if per_second > 0 else None
        if self.interval is not None:
            GatewayRate.objects.get_or_create(name=name)

    def wait(self, slots: int = 1) -> None:
        if self.interval is None:
            return
        for attempt in range(2):
            start = self._reserve(slots)
            delay = (start - timezone.now()).total_seconds()
            if delay > 0:
                time.sleep(delay)
            # Woken (or committed) well after its slot, a send would crowd the next slot — perhaps another
            # worker's — into the same second, beyond what the headroom absorbs: take the next free slot instead,
            # once (a second late wake-up is sent as it is, rather than never).
            if attempt or timezone.now() - start <= LATE:
                return

    def _reserve(self, slots: int) -> dt.datetime:
        assert self.interval is not None
        with transaction.atomic():
            rate = GatewayRate.objects.select_for_update().get(name=self.name)
            start = max(rate.next_slot, timezone.now())
            rate.next_slot = start + self.interval * slots
            rate.save(update_fields=["next_slot"])
        return start
