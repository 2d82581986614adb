"""The SMPP gateway against a real SMSC (smpp34's server) on loopback."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from masspost import sms
from masspost.delivery.gateways.base import Channel, Outcome, OutgoingMessage
from masspost.delivery.gateways.smpp import SMPPGateway, from_url
from masspost.errors import GatewayConfigError
from tests.peers.net import LOOPBACK, free_port
from tests.peers.refusing_smsc import ESME_RBINDFAIL, ESME_RINVPASWD, ESME_RINVSYSID, BindRefusingSMSC
from tests.peers.smsc import ESME_RINVDSTADR, ESME_RMSGQFUL, ESME_RTHROTTLED, SMSCPeer

GSM_TEXT = "Tere, Mäe! Visiit 12.01 kl 10:00. Hind 20€ {info} ~ [x]"
UCS2_TEXT = "Tere, Jõgeva! Здравствуйте, ждём вас."


def make_sms(**overrides: object) -> OutgoingMessage:
    values: dict[str, object] = {
        "message_id": 17,
        "campaign_id": 3,
        "patient_ref": "P-0042",
        "channel": Channel.SMS,
        "to": "+37255512345",
        "language": "et",
        "text": GSM_TEXT,
        "sender": "Kliinik",
    }
    values.update(overrides)
    return OutgoingMessage(**values)  # type: ignore[arg-type]


class Recorder:
    """Collects hook calls and lets a test wait for them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.changed = threading.Condition()

    def __call__(self, *args: str) -> None:
        with self.changed:
            self.calls.append(args)
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[str, ...]]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.calls) >= count, timeout), self.calls
            return list(self.calls)


def url(smsc: SMSCPeer, query: str = "timeout=5") -> str:
    return f"smpp://masspost:secret@{smsc.host}:{smsc.port}?{query}"


@pytest.fixture
def receipts() -> Recorder:
    return Recorder()


@pytest.fixture
def gateway(smsc: SMSCPeer, receipts: Recorder) -> Iterator[SMPPGateway]:
    gateway = from_url(url(smsc), on_delivery_receipt=receipts)
    gateway.open()
    yield gateway
    gateway.close()


def test_single_part_gsm7(gateway: SMPPGateway, smsc: SMSCPeer) -> None:
    result = gateway.send(make_sms())

    assert result.outcome is Outcome.ACCEPTED, result.error
    [submit] = smsc.wait_for_submits(1)
    assert submit.system_id == "masspost"
    assert (submit.data_coding, submit.esm_class, submit.udh) == (0, 0x00, b"")
    assert submit.text == GSM_TEXT
    assert submit.short_message == sms.encode_part(GSM_TEXT, "GSM-7")
    assert (submit.destination_addr, submit.dest_addr_ton, submit.dest_addr_npi) == ("37255512345", 1, 1)
    assert submit.registered_delivery == 1
    assert result.remote_id == submit.message_id


@pytest.mark.parametrize("text", [UCS2_TEXT, "õ", "Привет"])
def test_single_part_ucs2(gateway: SMPPGateway, smsc: SMSCPeer, text: str) -> None:
    result = gateway.send(make_sms(text=text))

    assert result.outcome is Outcome.ACCEPTED, result.error
    [submit] = smsc.wait_for_submits(1)
    assert (submit.data_coding, submit.esm_class) == (8, 0x00)
    assert submit.text == text


@pytest.mark.parametrize(
    ("text", "data_coding"),
    [
        ("Tere! " * 60 + "{lõpp}".replace("õ", "o"), 0),  # 370 septets incl. escapes → 3 parts
        ("Здравствуйте, Jõgeva! " * 9, 8),  # 198 UTF-16 units → 3 parts
    ],
)
def test_multipart_has_udh_and_reassembles_to_the_text(
    gateway: SMPPGateway, smsc: SMSCPeer, text: str, data_coding: int
) -> None:
    expected_parts = len(sms.segment(text).parts)
    assert expected_parts == 3

    result = gateway.send(make_sms(text=text))

    assert result.outcome is Outcome.ACCEPTED, result.error
    # smpp34 hands concurrent submits to the test in any order: sort them by UDH sequence.
    submits = sorted(smsc.wait_for_submits(expected_parts), key=lambda s: s.udh[4])
    concatenations = [s.concatenation for s in submits]
    reference = submits[0].udh[2]
    assert concatenations == [(reference, 3, 1), (reference, 3, 2), (reference, 3, 3)]
    assert all(s.short_message[:6] == bytes([5, 0, 3, reference, 3, n]) for n, s in enumerate(submits, 1))
    assert {(s.esm_class, s.data_coding) for s in submits} == {(0x40, data_coding)}
    assert smsc.messages() == [("37255512345", text)]
    assert result.remote_id == submits[0].message_id
    assert gateway.last_part_ids == tuple(s.message_id for s in submits)
    assert len(set(gateway.last_part_ids)) == 3


def test_each_multipart_message_gets_its_own_reference(gateway: SMPPGateway, smsc: SMSCPeer) -> None:
    text = "A" * 200
    assert gateway.send(make_sms(text=text)).outcome is Outcome.ACCEPTED
    assert gateway.send(make_sms(text=text)).outcome is Outcome.ACCEPTED

    submits = smsc.wait_for_submits(4)
    assert len({s.udh[2] for s in submits}) == 2
    assert smsc.messages() == [("37255512345", text)] * 2


def test_window_smaller_than_the_parts(smsc: SMSCPeer) -> None:
    gateway = from_url(url(smsc, "window=2&timeout=5"))
    text = "Ж" * 67 * 5
    try:
        result = gateway.send(make_sms(text=text))
    finally:
        gateway.close()

    assert result.outcome is Outcome.ACCEPTED, result.error
    assert smsc.messages() == [("37255512345", text)]


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("Kliinik", ("Kliinik", 5, 0)),
        ("Hambaarst 1", ("Hambaarst 1", 5, 0)),
        ("+3726001234", ("3726001234", 1, 1)),
        ("3726001234", ("3726001234", 1, 1)),
    ],
)
def test_sender_ton_npi(gateway: SMPPGateway, smsc: SMSCPeer, sender: str, expected: tuple[str, int, int]) -> None:
    assert gateway.send(make_sms(sender=sender)).outcome is Outcome.ACCEPTED

    [submit] = smsc.wait_for_submits(1)
    assert (submit.source_addr, submit.source_addr_ton, submit.source_addr_npi) == expected


@pytest.mark.parametrize(
    ("status", "name"),
    [(ESME_RTHROTTLED, "ESME_RTHROTTLED (0x00000058)"), (ESME_RMSGQFUL, "ESME_RMSGQFUL (0x00000014)")],
)
def test_throttled_and_queue_full_are_transient(gateway: SMPPGateway, smsc: SMSCPeer, status: int, name: str) -> None:
    smsc.reject_next(status)

    refused = gateway.send(make_sms())
    following = gateway.send(make_sms())

    assert refused.outcome is Outcome.TRANSIENT
    assert refused.error == f"SMPP {name}"
    assert following.outcome is Outcome.ACCEPTED


def test_invalid_destination_is_permanent(gateway: SMPPGateway, smsc: SMSCPeer) -> None:
    smsc.reject_destination("37255500000", ESME_RINVDSTADR)

    result = gateway.send(make_sms(to="+37255500000"))

    assert result.outcome is Outcome.PERMANENT
    assert result.error == "SMPP ESME_RINVDSTADR (0x0000000B)"
    assert "372555" not in result.error


def test_partly_refused_multipart_says_how_many_parts_went(gateway: SMPPGateway, smsc: SMSCPeer) -> None:
    smsc.reject_next(0, count=1)  # first part accepted
    smsc.reject_next(ESME_RTHROTTLED, count=2)

    result = gateway.send(make_sms(text="B" * 400))

    assert result.outcome is Outcome.TRANSIENT
    assert result.error == "SMPP ESME_RTHROTTLED (0x00000058) (1 of 3 parts accepted)"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"to": "not a number"}, "destination is not an E.164 number"),
        ({"sender": "Hambakliinik Tallinn"}, "alphanumeric sender"),
    ],
)
def test_unsendable_message_is_permanent_without_touching_the_smsc(
    gateway: SMPPGateway, smsc: SMSCPeer, overrides: dict[str, str], reason: str
) -> None:
    result = gateway.send(make_sms(**overrides))

    assert result.outcome is Outcome.PERMANENT
    assert result.error.startswith("message 17: ") and reason in result.error
    assert smsc.submits == []


def test_receipt_callback_gets_the_remote_id(gateway: SMPPGateway, receipts: Recorder) -> None:
    result = gateway.send(make_sms())

    [(remote_id, stat, raw)] = receipts.wait_for(1)
    assert remote_id == result.remote_id
    assert stat == "DELIVRD"
    assert f"id:{result.remote_id} " in raw and "stat:DELIVRD" in raw


def test_undelivered_receipt(gateway: SMPPGateway, smsc: SMSCPeer, receipts: Recorder) -> None:
    smsc.receipt_stat = "UNDELIV"

    result = gateway.send(make_sms())

    assert receipts.wait_for(1)[0][:2] == (result.remote_id, "UNDELIV")


def test_incoming_messages_reach_the_hook_and_a_failing_hook_asks_for_redelivery(smsc: SMSCPeer) -> None:
    incoming = Recorder()
    gateway = from_url(url(smsc), on_incoming=incoming)
    gateway.open()
    try:
        assert smsc.push_mo(source="37255512345", destination="Kliinik", payload=b"STOP", data_coding=0)
        ucs2 = "Tühistan, aitäh õ Ж"
        assert smsc.push_mo(
            source="37255512345", destination="Kliinik", payload=ucs2.encode("utf-16-be"), data_coding=8
        )
        assert smsc.push_mo(source="55512345", destination="Kliinik", payload=b"Stop", source_ton=2)
        # The type of number comes along: how to read the source is the hook's business (delivery.inbound).
        assert incoming.wait_for(3) == [("37255512345", "STOP", 1), ("37255512345", ucs2, 1), ("55512345", "Stop", 2)]

        def broken(source: str, text: str, source_ton: int) -> None:
            raise RuntimeError("store down")

        gateway.on_incoming = broken
        assert smsc.push_mo(source="37255512345", destination="Kliinik", payload=b"STOP") is False
    finally:
        gateway.close()


def test_a_submit_unanswered_when_the_bind_drops_is_unknown_then_the_next_send_rebinds(gateway: SMPPGateway,
                                                                                        smsc: SMSCPeer) -> None:
    # The submit_sm was written: the SMSC may have taken it. Retried, the patient could get it twice.
    assert gateway.send(make_sms()).outcome is Outcome.ACCEPTED
    smsc.drop_next()

    dropped = gateway.send(make_sms())
    after = gateway.send(make_sms())

    assert dropped.outcome is Outcome.UNKNOWN
    assert dropped.error == "SMPP unbound by the SMSC; written, no answer: the SMSC may have it"
    assert after.outcome is Outcome.ACCEPTED, after.error
    assert smsc.wait_for_binds(2) == ["masspost", "masspost"]
    assert [m[1] for m in smsc.messages()] == [GSM_TEXT, GSM_TEXT]


def test_unreachable_smsc_is_transient_and_reconnects_back_off() -> None:
    gateway = from_url(f"smpp://masspost:secret@{LOOPBACK}:{free_port()}?timeout=2")
    gateway.open()

    first = gateway.send(make_sms())
    second = gateway.send(make_sms())
    gateway.close()

    for result in (first, second):  # open() failed already, so both sends meet the backoff
        assert result.outcome is Outcome.TRANSIENT
        assert result.error.startswith("SMPP reconnect backoff")
        assert "cannot connect/bind: ConnectionError" in result.error


@pytest.mark.parametrize(("status", "name"), [
    (ESME_RINVPASWD, "ESME_RINVPASWD (0x0000000E)"),
    (ESME_RINVSYSID, "ESME_RINVSYSID (0x0000000F)"),
    (ESME_RBINDFAIL, "ESME_RBINDFAIL (0x0000000D)"),
])
def test_a_refused_bind_is_a_configuration_error_and_is_not_tried_again(status: int, name: str) -> None:
    # Wrong credentials fail every message alike, and an SMSC may lock an account after a few refused binds.
    peer = BindRefusingSMSC.start_refusing(status)
    gateway = from_url(f"smpp://masspost:secret@{peer.host}:{peer.port}?timeout=2")
    try:
        with pytest.raises(GatewayConfigError) as raised:
            gateway.open()
        results = gateway.send_many([make_sms(message_id=1), make_sms(message_id=2)])
    finally:
        gateway.close()
        peer.stop()

    assert name in str(raised.value) and f"{peer.host}:{peer.port}" in str(raised.value)
    assert "secret" not in str(raised.value) and "masspost" not in str(raised.value)
    assert [r.outcome for r in results] == [Outcome.MISCONFIGURED]  # the rest of the batch was never written
    assert name in results[0].error
    assert peer.binds == 1


def test_a_bind_refused_for_another_reason_stays_transient() -> None:
    peer = BindRefusingSMSC.start_refusing(0x08)  # ESME_RSYSERR: the SMSC's own trouble
    gateway = from_url(f"smpp://masspost:secret@{peer.host}:{peer.port}?timeout=2")
    try:
        gateway.open()  # logged, not raised
        result = gateway.send(make_sms())
    finally:
        gateway.close()
        peer.stop()

    assert result.outcome is Outcome.TRANSIENT
    assert "ESME_RSYSERR" in result.error


def test_enquire_link_keeps_the_link_checked(smsc: SMSCPeer) -> None:
    gateway = from_url(url(smsc, "enquire_link=0.05&timeout=5"))
    gateway.open()
    try:
        deadline = time.monotonic() + 10
        while gateway.enquire_links_answered < 2 and time.monotonic() < deadline:
            time.sleep(0.01)  # polling a counter with a deadline, not waiting for a guessed duration
        assert gateway.enquire_links_answered >= 2
        assert gateway.send(make_sms()).outcome is Outcome.ACCEPTED
    finally:
        gateway.close()


def test_tcp_nodelay_is_set(gateway: SMPPGateway) -> None:
    assert gateway.connected
    session = gateway._session
    assert session is not None
    assert session.client._socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_close_unbinds(smsc: SMSCPeer) -> None:
    gateway = from_url(url(smsc))
    gateway.open()
    smsc.wait_for_binds(1)
    gateway.close()

    smsc.wait_for(lambda: smsc._unbinds >= 1, "an unbind")
    assert not gateway.connected


def test_url_forms() -> None:
    gateway = from_url("smpp://id%40x:p%2Fw@smsc.example.ee?window=4&enquire_link=15&system_type=VMA&source_ton=3")
    assert isinstance(gateway, SMPPGateway)
    assert (gateway.host, gateway.port, gateway.system_id, gateway.password) == ("smsc.example.ee", 2775, "id@x", "p/w")
    assert (gateway.window, gateway.enquire_link, gateway.system_type, gateway.source_ton) == (4, 15.0, "VMA", 3)
    with pytest.raises(ValueError, match="unknown SMPP URL option"):
        from_url("smpp://a:b@h?windw=3")
    with pytest.raises(ValueError):
        from_url("smpp://h:2775")


class _CuttingSMSC(threading.Thread):
    """A bare TCP peer for one case smpp34 cannot play: the SMSC's TCP connection vanishing mid-submit.
    Built from smpplib's PDU classes: it acks every bind, closes the socket on the first submit_sm of
    the first connection and answers every later one."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.listener = socket.create_server((LOOPBACK, 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0

    def run(self) -> None:
        import smpplib.smpp

        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                stream = conn.makefile("rb")
                while header := stream.read(16):
                    length, command_id, _status, sequence = struct.unpack(">LLLL", header)
                    stream.read(length - 16)
                    if command_id == 0x00000009:  # bind_transceiver
                        resp = smpplib.smpp.make_pdu("bind_transceiver_resp", system_id="CUT")
                    elif command_id == 0x00000004 and self.connections == 1:  # submit_sm: cut the line
                        conn.shutdown(socket.SHUT_RDWR)
                        break
                    elif command_id == 0x00000004:
                        resp = smpplib.smpp.make_pdu("submit_sm_resp", message_id="ok-1")
                    elif command_id == 0x00000006:  # unbind
                        resp = smpplib.smpp.make_pdu("unbind_resp")
                    else:
                        continue
                    resp.sequence = sequence
                    conn.sendall(resp.generate())

    def stop(self) -> None:
        self.listener.close()


def test_tcp_connection_cut_mid_submit_is_unknown_then_reconnects() -> None:
    peer = _CuttingSMSC()
    peer.start()
    gateway = from_url(f"smpp://masspost:secret@{LOOPBACK}:{peer.port}?timeout=5")
    try:
        cut = gateway.send(make_sms())
        after = gateway.send(make_sms())
    finally:
        gateway.close()
        peer.stop()

    assert cut.outcome is Outcome.UNKNOWN  # written before the cut: the SMSC may have it
    assert cut.error == "SMPP connection lost: ConnectionError; written, no answer: the SMSC may have it"
    assert after.outcome is Outcome.ACCEPTED, after.error
    assert after.remote_id == "ok-1"
    assert peer.connections == 2


# -- receipts held for results the caller has not recorded yet (the worker's mode) --------------------------------


@pytest.fixture
def holding(smsc: SMSCPeer, receipts: Recorder) -> Iterator[SMPPGateway]:
    smsc.auto_receipts = False  # each test pushes its receipts when it wants them
    gateway = from_url(url(smsc), on_delivery_receipt=receipts, hold_receipts=True)
    gateway.open()
    yield gateway
    gateway.close()


def push_in_background(smsc: SMSCPeer, remote_id: str) -> threading.Thread:
    """push_receipt returns only once the ESME answered the deliver_sm: a thread tells when it was acknowledged."""
    thread = threading.Thread(target=smsc.push_receipt, args=(remote_id,), daemon=True)
    thread.start()
    return thread


def test_a_held_receipt_is_acknowledged_only_when_settled(
    holding: SMPPGateway, smsc: SMSCPeer, receipts: Recorder
) -> None:
    result = holding.send(make_sms())
    assert result.outcome is Outcome.ACCEPTED and result.receipt == ""

    push = push_in_background(smsc, result.remote_id)
    push.join(0.5)
    assert push.is_alive(), "a receipt for an unrecorded result must not be acknowledged"
    assert receipts.calls == []

    taken: dict[str, str] = {}
    deadline = time.monotonic() + 10
    while not taken and time.monotonic() < deadline:
        taken = holding.take_receipts([result.remote_id, "not-ours"])
        time.sleep(0.01)
    assert taken == {result.remote_id: "DELIVRD"}
    assert holding.take_receipts([result.remote_id]) == {}  # reported once
    assert push.is_alive()
    holding.settle([result.remote_id])
    push.join(5)
    assert not push.is_alive(), "settle acknowledges what was reported"
    assert receipts.calls == []  # the caller recorded it: the hook is not asked again


def test_a_receipt_not_reported_goes_to_the_hooks_when_released(
    holding: SMPPGateway, smsc: SMSCPeer, receipts: Recorder
) -> None:
    result = holding.send(make_sms())
    push = push_in_background(smsc, result.remote_id)
    push.join(0.3)
    holding.settle([result.remote_id], release=False)  # keeps holding: nothing was reported, nothing acknowledged
    push.join(0.3)
    assert push.is_alive() and receipts.calls == []

    holding.settle([result.remote_id])
    assert receipts.wait_for(1)[0][:2] == (result.remote_id, "DELIVRD")
    push.join(5)
    assert not push.is_alive()
    # Released: a later receipt for it goes straight to the hooks.
    assert smsc.push_receipt(result.remote_id)
    assert len(receipts.wait_for(2)) == 2


def test_receipts_that_come_before_the_results_ride_in_them(smsc: SMSCPeer, receipts: Recorder) -> None:
    # Window 1: each message is written after the previous one's answer, and this SMSC sends a receipt right
    # after each answer, so most receipts are in before send_many returns. Whatever the timing, every receipt
    # is accounted for exactly once: in its result, from take_receipts, or by the hooks after settle.
    gateway = from_url(url(smsc, "timeout=5&window=1"), on_delivery_receipt=receipts, hold_receipts=True)
    gateway.open()
    try:
        results = gateway.send_many([make_sms(message_id=n, to=f"+3725551{n:04d}") for n in range(20)])
        ids = [r.remote_id for r in results]
        in_results = {r.remote_id for r in results if r.receipt == "DELIVRD"}
        time.sleep(0.3)
        taken = set(gateway.take_receipts(ids))
        gateway.settle(ids)
        missing = 20 - len(in_results) - len(taken)
        hooked = {call[0] for call in receipts.wait_for(missing)} if missing else set()
        assert in_results  # the point of holding: most receipts never need a write of their own
        assert not in_results & taken and not (in_results | taken) & hooked
        assert in_results | taken | hooked == set(ids)
    finally:
        gateway.close()


def test_begin_and_finish_keep_two_batches_in_flight(smsc: SMSCPeer) -> None:
    gateway = from_url(url(smsc, "timeout=5&window=10"))
    gateway.open()
    try:
        first = gateway.begin([make_sms(message_id=n, to=f"+3725552{n:04d}") for n in range(5)])
        second = gateway.begin([make_sms(message_id=n, to=f"+3725553{n:04d}") for n in range(5)])
        smsc.wait_for_submits(10)  # both batches are on the wire before anyone waits for an answer
        results = gateway.finish(first) + gateway.finish(second)
        assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 10
        assert len({r.remote_id for r in results}) == 10
        assert sorted(s.destination_addr for s in smsc.wait_for_submits(10)) == sorted(
            [f"3725552{n:04d}" for n in range(5)] + [f"3725553{n:04d}" for n in range(5)])
    finally:
        gateway.close()


def test_each_sessions_hook_thread_lets_go_of_its_resources_as_it_ends(smsc: SMSCPeer) -> None:
    # The worker closes the hook thread's database connection here: a bind that drops and comes back must not
    # leave one behind per session.
    ended: list[str] = []
    gateway = from_url(url(smsc), on_hook_thread_exit=lambda: ended.append(threading.current_thread().name))
    gateway.open()
    assert gateway.send(make_sms()).outcome is Outcome.ACCEPTED
    smsc.drop_next()
    assert gateway.send(make_sms()).outcome is Outcome.UNKNOWN  # unanswered: the first session ends
    assert gateway.send(make_sms()).outcome is Outcome.ACCEPTED  # a second one
    gateway.close()  # joins the second session's threads; the first one's ended on its own

    deadline = time.monotonic() + 10
    while len(ended) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ended == ["smpp-hooks", "smpp-hooks"]
