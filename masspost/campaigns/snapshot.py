"""What a preview saw, per patient, kept a day: a stale send says exactly what changed (docs/campaign.md, "The
token and the send"). At most KEEP_PER_ACTOR per actor, the oldest deleted first.

The token's digest says *that* the recipients changed; this says which and how many. Per patient, in small
hashes: the patient (internal id), their clinic, their names as the texts show them, and per channel the outcome
(the language of the text, or the reason they are left out) and a hash of the address. Compressed as the sweep
streams (memory stays flat): a million patients are a few megabytes, one row keyed by the token. No patient data:
ids and 16-bit hashes. A 16-bit hash misses one change in 65,536; the token's own 64-bit digest misses none of
them, so a send is never let through by this, at worst a count is one short.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import struct
import sys
import zlib
from array import array
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from zlib import crc32

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from masspost.campaigns.models import PreviewSnapshot

KEEP = timedelta(days=1)
# Per actor (user, or the command line), their newest previews' fingerprints: enough to go back and forth
# between a few drafts, and a bound on what one user's previews can store (docs/campaign.md, "The token and the
# send").
KEEP_PER_ACTOR = 10
_VERSION = 1
_SWAP = sys.byteorder == "big"  # stored little-endian


def short_hash(text: str) -> int:
    return crc32(text.encode()) & 0xFFFF


def _bytes(values: array) -> bytes:  # type: ignore[type-arg]
    if _SWAP:
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


class Fingerprint:
    """Collects the per-patient hashes of one sweep. `header` holds what is per clinic and per text: each clinic's
    details as hashes, the fields each channel × language shows, the outcome codes.

    Built for the sweep's hot loop, which appends to the arrays itself (a method call per patient cost more than
    the appends): per channel one value to `channels[c]` (the outcome's index in `outcomes[c]` in the high half, the
    low 16 bits of the address's CRC-32 in the low half, 0 there for one left out), then the patient's `ids`, `clinics`
    and `names` (the low 16 bits of a CRC-32 of the names the texts show), and `flush` once `ids` holds at least
    CHUNK patients. The arrays are emptied in place when a block is compressed, so their bound `append`s stay valid.
    """

    CHUNK = 8192  # patients per compressed block

    def __init__(self, *, channels: tuple[str, ...], outcomes: dict[str, tuple[str, ...]],
                 clinics: dict[int, dict[str, int]], lane_fields: dict[str, dict[str, list[str]]]) -> None:
        self.header = {"version": _VERSION, "channels": list(channels),
                       "outcomes": {ch: list(outcomes[ch]) for ch in channels},
                       "clinics": {str(k): v for k, v in clinics.items()}, "lane_fields": lane_fields}
        self.ids = array("q")
        self.clinics = array("q")
        self.names = array("H")
        self.channels = [array("I") for _ in channels]
        self._compressor = zlib.compressobj(1)
        # Blocks are compressed in order on one thread of their own: zlib lets go of the GIL, so on a second core
        # the compression costs the sweep nothing. (A sweep that fails midway leaves the thread idle until the
        # executor is collected, which ends it.)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fingerprint")
        head = json.dumps(self.header, sort_keys=True).encode()
        self._out = [self._pool.submit(self._compressor.compress, struct.pack("<I", len(head)) + head)]

    def flush(self) -> None:
        if not self.ids:
            return
        arrays = [self.ids, self.clinics, self.names, *self.channels]
        block = struct.pack("<I", len(self.ids)) + b"".join(_bytes(a) for a in arrays)
        # At most two blocks wait uncompressed: a sweep faster than zlib must not queue up the whole audience.
        waiting = [f for f in self._out[-3:] if not f.done()]
        if len(waiting) >= 2:
            waiting[0].result()
        self._out.append(self._pool.submit(self._compressor.compress, block))
        for values in arrays:
            del values[:]

    def finish(self) -> bytearray:
        self.flush()
        self._out.append(self._pool.submit(self._compressor.flush))
        try:
            # Each block let go of as soon as it is copied, and the whole not copied again: the fingerprint is in
            # memory once, not twice or three times.
            whole = bytearray()
            blocks, self._out = self._out, []
            blocks.reverse()
            while blocks:
                whole += blocks.pop().result()
            return whole
        finally:
            self._pool.shutdown()


@dataclass(frozen=True, kw_only=True, slots=True)
class Seen:
    """A fingerprint read back: per patient, in the order the sweep met them."""

    header: dict[str, object]
    ids: array  # type: ignore[type-arg]
    clinics: array  # type: ignore[type-arg]
    names: array  # type: ignore[type-arg]
    channels: list[array]  # type: ignore[type-arg]

    def outcome(self, channel: int, i: int) -> int:
        return int(self.channels[channel][i]) >> 16

    def address(self, channel: int, i: int) -> int:
        return int(self.channels[channel][i]) & 0xFFFF

    @classmethod
    def read(cls, blob: bytes | bytearray) -> Seen:
        data = zlib.decompress(blob)
        (size,) = struct.unpack_from("<I", data)
        header = json.loads(data[4 : 4 + size])
        ids, clinics, names = array("q"), array("q"), array("H")
        channels = [array("I") for _ in header["channels"]]
        at = 4 + size
        while at < len(data):
            (n,) = struct.unpack_from("<I", data, at)
            at += 4
            for target in (ids, clinics, names, *channels):
                width = target.itemsize * n
                block = array(target.typecode)
                block.frombytes(data[at : at + width])
                if _SWAP:
                    block.byteswap()
                target.extend(block)
                at += width
        return cls(header=header, ids=ids, clinics=clinics, names=names, channels=channels)


def _actor(actor_key: str) -> str:
    """The row's actor: a short hash of Scope.actor_key, so that no name is stored and each actor's previews can
    be capped."""
    return hashlib.sha256(actor_key.encode()).hexdigest()[:16]


def snapshot_keep(*, token: str, fingerprint: bytes | bytearray, actor: str) -> None:
    """Keep a preview's fingerprint under its token for a day, at most KEEP_PER_ACTOR per actor: older ones, and
    the actor's beyond their newest KEEP_PER_ACTOR, are deleted on the way (a user previewing in a loop fills
    no disk: a fingerprint of a million patients is a few megabytes)."""
    now = timezone.now()
    who = _actor(actor)
    with transaction.atomic():
        PreviewSnapshot.objects.filter(created_at__lt=now - KEEP).delete()
        # The same token is the same preview: keep the first fingerprint, a day from now.
        if PreviewSnapshot.objects.filter(token=token, actor=who).update(created_at=now):
            _cap(who)
            return
    if connection.vendor == "postgresql":
        _insert_binary(token=token, actor=who, created_at=now, data=fingerprint)
    else:
        try:
            with transaction.atomic():
                PreviewSnapshot.objects.create(token=token, actor=who, created_at=now, data=fingerprint)
        except IntegrityError:
            pass  # the same preview, made at the same moment elsewhere: its fingerprint is this one
    _cap(who)


def _cap(who: str) -> None:
    """Delete the actor's snapshots beyond their newest KEEP_PER_ACTOR, oldest first."""
    mine = PreviewSnapshot.objects.filter(actor=who)
    beyond = list(mine.order_by("-created_at", "-id").values_list("id", flat=True)[KEEP_PER_ACTOR:])
    if beyond:
        PreviewSnapshot.objects.filter(id__in=beyond).delete()


def _insert_binary(*, token: str, actor: str, created_at: dt.datetime, data: bytes | bytearray) -> None:
    """PostgreSQL: the fingerprint as a binary parameter, bound by the server. Django's cursors bind parameters
    into the SQL text, which for a million patients' 6.7 MB fingerprint raised the preview's peak memory by 48 MB
    (docs/benchmarks.md)."""
    import psycopg  # only ever reached on PostgreSQL

    table = connection.ops.quote_name(PreviewSnapshot._meta.db_table)
    with transaction.atomic():
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            # The same preview, made at the same moment elsewhere, has written this fingerprint: nothing to do.
            cursor.execute(f"INSERT INTO {table} (token, actor, created_at, data) VALUES (%s, %s, %s, %b) "  # noqa: S608
                           "ON CONFLICT (token, actor) DO NOTHING", (token, actor, created_at, data))


def snapshot_load(*, token: str) -> Seen | None:
    """The fingerprint of the preview with `token`, whoever made it (the same token is the same preview)."""
    row = (PreviewSnapshot.objects.filter(token=token, created_at__gte=timezone.now() - KEEP)
           .order_by("-created_at").first())
    return Seen.read(bytes(row.data)) if row is not None else None
