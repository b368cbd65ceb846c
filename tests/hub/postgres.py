"""A PostgreSQL server of our own for the hub tests and bench: initdb in a temp dir, a private socket, stopped by PID.

Debian's `postgresql` package puts initdb and pg_ctl in /usr/lib/postgresql/N/bin. The server refuses to run as
root, so as root the data directory belongs to the `postgres` user and the commands run through runuser. It listens
on a Unix socket in its own directory only (no TCP), so it never clashes with another server on the machine.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL's program directory, or None when none is installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    """A port number for the socket's name (.s.PGSQL.PORT); nothing listens on TCP."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """One throwaway server: `start()`, then `url` names its `postgres` database; `stop()` removes everything."""

    def __init__(self, programs: Path) -> None:
        self.programs = programs
        self.root = Path(tempfile.mkdtemp(prefix="memberkiosk-pg-"))  # not pytest's tmp: that is 0700 root-only
        self.data = self.root / "data"
        self.port = _free_port()
        self.url = f"postgresql://postgres@/postgres?host={self.root}&port={self.port}"

    def _run(self, *args: str) -> None:
        as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        proc = subprocess.run([*as_owner, *args], capture_output=True, text=True, timeout=120)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr or proc.stdout}")

    def start(self) -> None:
        """initdb with trust authentication, then start the server and wait until it accepts connections."""
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(str(self.programs / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8", "--locale", "C")
        options = f"-p {self.port} -k {self.root} -c listen_addresses='' -c max_connections=50"
        self._run(str(self.programs / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.data),
                  "-l", str(self.root / "server.log"), "-o", options)

    def pid(self) -> int | None:
        """The postmaster's PID from its pid file, or None when it is not running."""
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def stop(self) -> None:
        """Stop the server (fast shutdown, waiting for it) and remove its directory."""
        if self.pid() is not None:
            self._run(str(self.programs / "pg_ctl"), "stop", "-w", "-t", "60", "-m", "fast", "-D", str(self.data))
        shutil.rmtree(self.root, ignore_errors=True)
