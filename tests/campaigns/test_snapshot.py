"""The preview's per-patient fingerprint is stored whole and read back as it was written, on both databases (on
PostgreSQL as a server-bound binary parameter), and the same preview kept twice keeps its first fingerprint."""

from __future__ import annotations

import pytest

from masspost.campaigns.models import PreviewSnapshot
from masspost.campaigns.snapshot import Fingerprint, Seen, snapshot_keep, snapshot_load

pytestmark = pytest.mark.django_db


def fingerprint(patients: int, salt: int) -> bytearray:
    fp = Fingerprint(channels=("sms",), outcomes={"sms": ("opted_out", "et")}, clinics={1: {"name": 7}},
                     lane_fields={"sms": {"et": ["name"]}})
    for pid in range(1, patients + 1):
        fp.channels[0].append((1 << 16) | ((pid * 7919 + salt) & 0xFFFF))
        fp.ids.append(pid)
        fp.clinics.append(1)
        fp.names.append((pid * 31 + salt) & 0xFFFF)
        if len(fp.ids) >= Fingerprint.CHUNK:
            fp.flush()
    return fp.finish()


def test_a_kept_fingerprint_reads_back_as_written() -> None:
    blob = fingerprint(3 * Fingerprint.CHUNK + 5, salt=1)  # several blocks, compressed on their thread, in order
    snapshot_keep(token="v3.t", fingerprint=blob)
    seen = snapshot_load(token="v3.t")
    assert seen is not None
    assert list(seen.ids) == list(range(1, 3 * Fingerprint.CHUNK + 6))
    assert [seen.address(0, i) for i in (0, 9000)] == [(1 * 7919 + 1) & 0xFFFF, (9001 * 7919 + 1) & 0xFFFF]
    assert seen.outcome(0, 5) == 1 and seen.names[9000] == (9001 * 31 + 1) & 0xFFFF
    assert bytes(PreviewSnapshot.objects.get(token="v3.t").data) == bytes(blob)
    assert Seen.read(blob).header == seen.header


def test_the_same_preview_kept_twice_keeps_its_first_fingerprint() -> None:
    first, second = fingerprint(10, salt=1), fingerprint(10, salt=2)
    snapshot_keep(token="v3.same", fingerprint=first)
    snapshot_keep(token="v3.same", fingerprint=second)
    assert PreviewSnapshot.objects.filter(token="v3.same").count() == 1
    assert bytes(PreviewSnapshot.objects.get(token="v3.same").data) == bytes(first)
