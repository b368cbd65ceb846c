"""The chain's broker as an operator sets it up: `memberkiosk fleet broker-config` output, run by a real mosquitto.

`fleet_broker` (one per session) runs `memberkiosk fleet broker-config --out DIR --port N --kiosks ...` and then
`mosquitto -c DIR/mosquitto.conf`, stopped by its PID. Logins are the generated ones (credentials/<user>.password);
it has the interface of tests.mqtt.broker.Mosquitto (url, pki.ca_file, settings(user), start, stop), so the hub
fixtures and WireKiosk run on it unchanged.
"""
from __future__ import annotations

import getpass
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

from mqtt.connection import Settings
from mqtt.fleet.pki import Pki
from tests.conftest import _console_script
from tests.mqtt.broker import KIOSKS, Mosquitto, free_port
from tests.mqtt.conftest import callback_errors, fail_on_callback_errors  # noqa: F401

FLEET_KIOSKS = ",".join(f"{store}:{kiosk}" for kiosk, store in KIOSKS.items())  # shop1:shop1-k1,...


class FleetBroker(Mosquitto):
    """mosquitto on the configuration `fleet broker-config` wrote into `directory` (TLS on 127.0.0.1 only)."""

    def __init__(self, directory: Path, kiosks: str = FLEET_KIOSKS) -> None:
        # Not Mosquitto.__init__: that writes the shipped config with test passwords; start/stop/log are reused.
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            raise RuntimeError("mosquitto is not installed: run tests/run.sh (Debian package mosquitto)")
        self.exe, self.dir, self.proc = exe, directory, None
        self.port = self.plain_port = free_port()  # no plain listener: start() waits on the TLS port twice
        subprocess.run([_console_script(), "fleet", "broker-config", "--out", str(directory), "--port", str(self.port),
                        "--bind", "127.0.0.1", "--kiosks", kiosks], check=True, capture_output=True, timeout=60)
        self.conf = directory / "mosquitto.conf"
        # as root, mosquitto drops to the user named here (else to `mosquitto`, who cannot read the test's folder)
        with self.conf.open("a") as f:
            f.write(f"\nuser {getpass.getuser()}\n")
        self.pki = Pki(directory / "ca.crt", directory / "ca.key", directory / "server.crt", directory / "server.key")

    @property
    def plain_url(self) -> str:
        raise AttributeError("the fleet broker has no plain listener")

    def password(self, user: str) -> str:
        """The generated password of `user` (a kiosk id, hub or operator)."""
        return (self.dir / "credentials" / f"{user}.password").read_text().strip()

    def settings(self, user: str, **overrides: Any) -> Settings:
        """Connection settings for `user`, trusting the generated CA."""
        values: dict[str, Any] = dict(url=self.url, client_id=user, username=user, password=self.password(user),
                                      ca_file=self.pki.ca_file, reconnect_min=0.1, reconnect_max=1.0)
        values.update(overrides)
        return Settings(**values)


@pytest.fixture(scope="session")
def fleet_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetBroker]:
    """One broker from `fleet broker-config` output for the session, with kiosks shop1-k1, shop1-k2 and shop2-k1."""
    b = FleetBroker(tmp_path_factory.mktemp("fleet-broker"))
    b.start()
    yield b
    b.stop()
