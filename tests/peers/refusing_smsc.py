"""An SMSC on loopback that refuses every bind with one command_status (ESME_RINVPASWD by default): smpp34's
server accepts any bind, so this case is played by a bare TCP peer on smpplib's PDU classes."""

from __future__ import annotations

import socket
import struct
import threading

import smpplib.smpp

from tests.peers.net import LOOPBACK

ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
_BINDS = {0x00000001: "bind_receiver_resp", 0x00000002: "bind_transmitter_resp", 0x00000009: "bind_transceiver_resp"}


class BindRefusingSMSC(threading.Thread):
    def __init__(self, status: int = ESME_RINVPASWD) -> None:
        super().__init__(daemon=True, name="refusing-smsc")
        self.status = status
        self.listener = socket.create_server((LOOPBACK, 0))
        self.host, self.port = LOOPBACK, int(self.listener.getsockname()[1])
        self.binds = 0  # bind requests refused so far
        self._lock = threading.Lock()

    @classmethod
    def start_refusing(cls, status: int = ESME_RINVPASWD) -> BindRefusingSMSC:
        peer = cls(status)
        peer.start()
        return peer

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # stopped
            with conn:
                stream = conn.makefile("rb")
                while header := stream.read(16):
                    length, command_id, _status, sequence = struct.unpack(">LLLL", header)
                    stream.read(length - 16)
                    if command_id not in _BINDS:
                        continue
                    with self._lock:
                        self.binds += 1
                    resp = smpplib.smpp.make_pdu(_BINDS[command_id], system_id="REFUSER")
                    resp.sequence, resp.status = sequence, self.status
                    conn.sendall(resp.generate())
                    break  # an SMSC closes the connection after a refused bind

    def stop(self) -> None:
        self.listener.close()
