"""Loopback ESC/POS printers for tests: on TCP (can vanish mid-receipt) and on a serial pty; both answer DLE EOT."""
from __future__ import annotations

import socket
import struct
import threading

DLE_EOT = b"\x10\x04"
READY = {1: 0x12, 2: 0x12, 4: 0x12}  # online, no offline cause, paper present


class LoopbackPrinter:
    """Listens on 127.0.0.1; every connection's bytes (status queries removed) become one entry in `jobs`."""

    def __init__(self) -> None:
        self.status: dict[int, int] | None = dict(READY)  # None: a printer that never answers DLE EOT
        self.vanish_after: int | None = None  # bytes of a job after which the printer drops off the network
        self.jobs: list[bytes] = []
        self.queries: list[int] = []
        self._cond = threading.Condition()
        self._server: socket.socket | None = None
        self.port = 0
        self.listen()

    def listen(self) -> None:
        """(Re)appear on the network, on the same port as before."""
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(4)
        self.port = srv.getsockname()[1]
        self._server = srv
        threading.Thread(target=self._accept, args=(srv,), daemon=True).start()

    def vanish(self) -> None:
        """Disappear: no more connections accepted."""
        srv, self._server = self._server, None
        if srv is not None:
            srv.shutdown(socket.SHUT_RDWR)  # wakes the accept thread; close alone leaves the port listening
            srv.close()

    def close(self) -> None:
        self.vanish()

    def wait_jobs(self, n: int, timeout: float = 10.0) -> list[bytes]:
        """Wait until `n` connections carried job bytes."""
        with self._cond:
            if not self._cond.wait_for(lambda: len([j for j in self.jobs if j]) >= n, timeout):
                raise AssertionError(f"printer got {len(self.jobs)} jobs, expected {n}")
            return [j for j in self.jobs if j]

    def ingest(self, pending: bytes, job: bytearray, reply) -> bytes:
        """Answer every complete DLE EOT n, add everything else to `job`; returns an incomplete tail."""
        while True:
            at = pending.find(DLE_EOT)
            if at < 0 or len(pending) < at + 3:
                keep = len(pending) if at < 0 else at
                job += pending[:keep]
                return pending[keep:]
            job += pending[:at]
            n, pending = pending[at + 2], pending[at + 3:]
            self.queries.append(n)
            if self.status is not None:
                reply(bytes([self.status.get(n, 0x12)]))

    def _accept(self, srv: socket.socket) -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            self._serve(conn)

    def _serve(self, conn: socket.socket) -> None:
        job, pending = bytearray(), b""
        with conn:
            while True:
                try:
                    data = conn.recv(4096)
                except OSError:
                    break
                if not data:
                    break
                pending = self.ingest(pending + data, job, conn.sendall)
                if self.vanish_after is not None and len(job) >= self.vanish_after:
                    del job[self.vanish_after:]
                    self.vanish()
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, like a power cut
                    break
        with self._cond:
            self.jobs.append(bytes(job))
            self._cond.notify_all()


class PtyPrinter(LoopbackPrinter):
    """The same printer behind a raw-mode pty, as a USB-serial receipt printer appears; `path` is its port."""

    def __init__(self) -> None:
        import os
        import tty
        self.status = dict(READY)
        self.jobs, self.queries = [], []
        self._cond = threading.Condition()
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.job = bytearray()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        import os
        pending = b""
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            with self._cond:
                pending = self.ingest(pending + data, self.job, lambda b: os.write(self.master, b))
                self._cond.notify_all()

    def wait_bytes(self, n: int, timeout: float = 10.0) -> bytes:
        """Wait until `n` job bytes arrived."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.job) >= n, timeout):
                raise AssertionError(f"serial printer got {len(self.job)} bytes, expected {n}")
            return bytes(self.job)

    def close(self) -> None:
        import os
        os.close(self.slave)
        os.close(self.master)
