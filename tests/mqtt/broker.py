"""A real mosquitto for tests and benchmarks: a throwaway CA, per-kiosk users and the shipped config and ACL.

The broker runs the shipped mqtt/broker/mosquitto.conf with its paths pointed at a temporary folder and its
listener at a free port on 127.0.0.1 (plus a plain loopback listener), and is stopped by its PID.
"""
from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from mqtt.connection import Settings
from mqtt.fleet.pki import make_pki

SHIPPED = Path(__file__).resolve().parents[2] / "mqtt" / "broker"
KIOSKS = {"shop1-k1": "shop1", "shop1-k2": "shop1", "shop2-k1": "shop2"}  # kiosk id (= user name) -> store
HUB = "hub"


def password(user: str) -> str:
    """Each test user's password."""
    return f"pw-{user}-secret"


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    """One mosquitto process on 127.0.0.1: TLS on `port`, plain MQTT on `plain_port`, the shipped ACL."""

    def __init__(self, directory: Path, users: tuple[str, ...] = (*KIOSKS, HUB)) -> None:
        exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
        if exe is None or shutil.which("mosquitto_passwd") is None:
            raise RuntimeError("mosquitto is not installed: run tests/run.sh (Debian package mosquitto)")
        self.exe, self.dir = exe, directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pki = make_pki(directory / "pki")
        self.port, self.plain_port = free_port(), free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._write_passwords(users)
        shutil.copy(SHIPPED / "acl", directory / "acl")
        (directory / "persist").mkdir(exist_ok=True)
        self.conf = directory / "mosquitto.conf"
        self.conf.write_text(self._config())

    @property
    def url(self) -> str:
        """The TLS listener's URL."""
        return f"mqtts://127.0.0.1:{self.port}"

    @property
    def plain_url(self) -> str:
        """The plain loopback listener's URL."""
        return f"mqtt://127.0.0.1:{self.plain_port}"

    def settings(self, user: str, **overrides: Any) -> Settings:
        """Connection settings for a test user, trusting the test CA."""
        values: dict[str, Any] = dict(url=self.url, client_id=user, username=user, password=password(user),
                                      ca_file=self.pki.ca_file, reconnect_min=0.1, reconnect_max=1.0)
        values.update(overrides)
        return Settings(**values)

    def _write_passwords(self, users: tuple[str, ...]) -> None:
        passwd = self.dir / "passwd"
        for i, user in enumerate(users):
            flags = ["-c"] if i == 0 else []
            subprocess.run(["mosquitto_passwd", *flags, "-b", str(passwd), user, password(user)], check=True,
                           capture_output=True, timeout=30)

    def _config(self) -> str:
        """The shipped config, its paths in our folder, the listener on loopback, and a plain loopback listener."""
        lines = (SHIPPED / "mosquitto.conf").read_text().splitlines(keepends=True)
        text = "".join(line for line in lines if not line.startswith("#"))
        text = text.replace("/etc/mosquitto/memberkiosk/passwd", str(self.dir / "passwd"))
        text = text.replace("/etc/mosquitto/memberkiosk/acl", str(self.dir / "acl"))
        text = text.replace("/etc/mosquitto/memberkiosk/server.crt", str(self.pki.cert_file))
        text = text.replace("/etc/mosquitto/memberkiosk/server.key", str(self.pki.key_file))
        text = text.replace("/var/lib/mosquitto/", f"{self.dir / 'persist'}/")
        assert "listener 8883\n" in text and "/etc/mosquitto" not in text, "the shipped mosquitto.conf changed shape"
        text = text.replace("listener 8883\n", f"listener {self.port} 127.0.0.1\n")
        # as root, mosquitto drops to the user named here; as anyone else it stays who it is
        return text + f"\nuser {getpass.getuser()}\nlistener {self.plain_port} 127.0.0.1\nprotocol mqtt\n"

    def start(self, timeout: float = 10.0) -> None:
        """Start the broker and wait until both listeners accept connections."""
        log = open(self.dir / "mosquitto.log", "ab")
        self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        for port in (self.port, self.plain_port):
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {self.log()[-2000:]}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(f"mosquitto did not listen on {port} in {timeout} s: {self.log()[-2000:]}")
                    time.sleep(0.02)

    def stop(self) -> None:
        """Stop the broker by its PID (SIGTERM, then SIGKILL after 5 s); it saves its persistence file."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def restart(self, down_for: float = 0.0) -> None:
        """Stop the broker, stay down `down_for` seconds, and start it again on the same ports."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def log(self) -> str:
        """What mosquitto logged so far."""
        path = self.dir / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""
