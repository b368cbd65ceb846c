"""A virtual contactless card for vpcd (vsmartcard): plugs into a real pcscd over TCP like a card onto a reader.

vpcd frames are a 2-byte big-endian length and a payload; 1-byte payloads are control (0 power off,
1 power on, 2 reset, 4 get ATR), longer ones are APDUs that we answer. Debian's vicc crashes on FF CA and
on SELECT with P2=00, hence this one.
"""
from __future__ import annotations

import socket
import threading
from typing import Callable

from drivers.card.apdu import GET_UID, MEMBER_AID, READ_MEMBER_FILE, encode_member_file

VPCD_PORT = 35963
# ATR of a contactless storage card as PC/SC readers synthesise it (PC/SC part 3).
ATR = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
OK = b"\x90\x00"

Answer = Callable[[bytes], bytes | None]


class VCard:
    """One card: a UID, optionally our member application, and per-command answer overrides for error tests."""

    VANISH = b"vanish"  # an `answer` returning this pulls the card away instead of answering
    inserted: list["VCard"] = []  # every card currently connected, so fixtures can clear the reader

    def __init__(self, uid: str, member_no: str | None = None, member_file: bytes | None = None,
                 answer: Answer | None = None, port: int = VPCD_PORT):
        self.uid = bytes.fromhex(uid)
        self.member_file = member_file if member_file is not None else (
            encode_member_file(member_no) if member_no else None)
        self.answer = answer  # returns bytes to override the reply, or None for the normal one
        self.port = port
        self.apdus: list[bytes] = []
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._selected = False

    def insert(self, timeout: float = 5.0) -> "VCard":
        """Connect to vpcd: the reader now sees this card."""
        self._sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        self._sock.settimeout(None)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._thread = threading.Thread(target=self._serve, args=(self._sock,), name="vcard", daemon=True)
        self._thread.start()
        VCard.inserted.append(self)
        return self

    def remove(self) -> None:
        """Take the card off the reader (close the connection)."""
        sock, self._sock = self._sock, None
        if self in VCard.inserted:
            VCard.inserted.remove(self)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                payload = _recv_frame(sock)
                if payload is None:
                    return
                reply = self._reply(payload)
                if reply is VCard.VANISH:
                    sock.shutdown(socket.SHUT_RDWR)
                    return
                if reply is not None:
                    sock.sendall(len(reply).to_bytes(2, "big") + reply)
        except OSError:
            return

    def _reply(self, payload: bytes) -> bytes | None:
        if len(payload) == 1:
            if payload[0] in (0, 1, 2):  # power off / on / reset: no answer expected
                self._selected = False
                return None
            return ATR  # 4: get ATR
        self.apdus.append(payload)
        override = self.answer(payload) if self.answer else None
        return override if override is not None else self._answer(payload)

    def _answer(self, apdu: bytes) -> bytes:
        if apdu == GET_UID:
            return self.uid + OK
        if apdu[1:2] == b"\xA4" and apdu[2] == 0x04:
            if self.member_file is not None and apdu[5:5 + apdu[4]] == MEMBER_AID:
                self._selected = True
                return OK
            return b"\x6A\x82"
        if apdu[:4] == READ_MEMBER_FILE[:4]:
            return (self.member_file + OK) if self._selected else b"\x69\x86"
        return b"\x6D\x00"


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        # Without QUICKACK Linux delays the ACK and every APDU round trip stalls ~40 ms.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _recv_frame(sock: socket.socket) -> bytes | None:
    head = _recv_exact(sock, 2)
    if head is None:
        return None
    return _recv_exact(sock, int.from_bytes(head, "big"))
