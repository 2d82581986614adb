"""The preview's per-patient fingerprint is stored whole and read back as it was written, on both databases (on
PostgreSQL as a server-bound binary parameter), and the same preview kept twice keeps its first fingerprint."""

from __future__ import annotations

import pytest

from masspost.campaigns.models import PreviewSnapshot
from masspost.campaigns.snapshot import KEEP_PER_ACTOR, Fingerprint, Seen, snapshot_keep, snapshot_load

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
    snapshot_keep(token="v3.t", fingerprint=blob, actor="alice")
    seen = snapshot_load(token="v3.t")
    assert seen is not None
    assert list(seen.ids) == list(range(1, 3 * Fingerprint.CHUNK + 6))
    assert [seen.address(0, i) for i in (0, 9000)] == [(1 * 7919 + 1) & 0xFFFF, (9001 * 7919 + 1) & 0xFFFF]
    assert seen.outcome(0, 5) == 1 and seen.names[9000] == (9001 * 31 + 1) & 0xFFFF
    assert bytes(PreviewSnapshot.objects.get(token="v3.t").data) == bytes(blob)
    assert Seen.read(blob).header == seen.header


def test_the_same_preview_kept_twice_keeps_its_first_fingerprint() -> None:
    first, second = fingerprint(10, salt=1), fingerprint(10, salt=2)
    snapshot_keep(token="v3.same", fingerprint=first, actor="alice")
    snapshot_keep(token="v3.same", fingerprint=second, actor="alice")
    assert PreviewSnapshot.objects.filter(token="v3.same").count() == 1
    assert bytes(PreviewSnapshot.objects.get(token="v3.same").data) == bytes(first)


def test_each_actor_keeps_their_newest_previews_only_oldest_deleted_first() -> None:
    # Issue 16, point 12: a user previewing in a loop stored a fingerprint per preview, without end.
    blob = fingerprint(10, salt=1)
    snapshot_keep(token="v3.bob", fingerprint=blob, actor="bob")
    for i in range(KEEP_PER_ACTOR + 5):
        snapshot_keep(token=f"v3.a{i}", fingerprint=blob, actor="alice")
    kept = [i for i in range(KEEP_PER_ACTOR + 5) if snapshot_load(token=f"v3.a{i}") is not None]
    assert kept == list(range(5, KEEP_PER_ACTOR + 5))  # the newest KEEP_PER_ACTOR
    assert PreviewSnapshot.objects.count() == KEEP_PER_ACTOR + 1
    assert snapshot_load(token="v3.bob") is not None  # another actor's previews are theirs to use up


def test_a_preview_made_again_is_the_newest_and_another_actors_same_preview_is_found() -> None:
    blob = fingerprint(10, salt=1)
    snapshot_keep(token="v3.first", fingerprint=blob, actor="alice")
    for i in range(KEEP_PER_ACTOR - 1):
        snapshot_keep(token=f"v3.a{i}", fingerprint=blob, actor="alice")
    snapshot_keep(token="v3.first", fingerprint=blob, actor="alice")  # previewed again: the newest now
    snapshot_keep(token="v3.last", fingerprint=blob, actor="alice")
    assert snapshot_load(token="v3.first") is not None and snapshot_load(token="v3.a0") is None
    snapshot_keep(token="v3.shared", fingerprint=blob, actor="bob")
    assert snapshot_load(token="v3.shared") is not None  # a send by anyone with the token finds it
