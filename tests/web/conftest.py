"""The head-office console as a person meets it: `memberkiosk hub web` started as a process on a hub database the
tests fill, a real mosquitto to push through, and Debian's headless Chromium driven by Selenium (Debian's
chromedriver). One console and one browser per module; screenshots go to test-artifacts/web/.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from mqtt.fleet import signing
from mqtt.hub.apply import Batch
from mqtt.hub.fleetdb import OUTCOME, STATUS, TELEMETRY, Report
from mqtt.hub.store import HubStore
from mqtt.hub.web.accounts import Accounts
from tests.conftest import _console_script, terminate
from tests.hub.helpers import T0, event
from tests.mqtt.broker import Mosquitto, free_port, password
from tests.mqtt.conftest import fail_on_callback_errors  # noqa: F401

ARTIFACTS = Path(os.environ.get("MEMBERKIOSK_TEST_ARTIFACTS",
                                Path(__file__).resolve().parents[2] / "test-artifacts")) / "web"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
OPERATOR, VIEWER = ("alice", "alice-operator-pw"), ("bob", "bob-viewer-pw1")
PASSPHRASE = "operator key passphrase"
CONFIG_ID = "0190aaaa-0000-7000-8000-000000000001"


@dataclass(frozen=True)
class Console:
    """A running console: its URL, its data directory and database, where the operator key is, and the folder of
    update bundles it serves at /updates/."""

    url: str
    data_dir: Path
    db_url: str
    key_dir: Path
    bundles: Path


def fill(hub: HubStore) -> None:
    """Three kiosks of two stores (one offline, one out of paper, one update rolled back), telemetry, outcomes, and an
    overdraft."""
    def status(store: str, kiosk: str, state: str, at: int) -> Report:
        return Report(STATUS, store, kiosk, at, {"state": state, "version": "0.1.0", "store": store, "kiosk": kiosk,
                                                 "config_version": 7, "ts": at})

    def telemetry(store: str, kiosk: str, at: int, printer: str = "ok") -> Report:
        return Report(TELEMETRY, store, kiosk, at, {
            "version": "0.1.0", "uptime_s": (at - T0) // 1000, "unacked": 3, "last_sync_at": at - 2000,
            "devices": {"reader": "ok", "scanner": "ok", "printer": printer}, "disk_free": 3_500_000_000,
            "cpu_temp": 51.5, "last_sale_at": at - 60_000, "config_version": 7, "locked": None,
            "update": {"version": "0.2.0", "from_version": "0.1.0", "state": "rolled back", "at": T0,
                       "reason": "rolled back: version 0.2.0 failed verify (exit 3)"}})

    def outcome(kiosk: str, at: int, type_: str, name: str, ok: bool, reason: str | None, n: int) -> Report:
        return Report(OUTCOME, "shop1", kiosk, at, {"id": CONFIG_ID[:-1] + str(n), "type": type_, "name": name,
                                                    "ok": ok, "reason": reason, "version": 7 if ok else 5,
                                                    "result": {}, "at": at})

    hub.fleet_record([
        status("shop1", "shop1-k1", "online", T0), status("shop1", "shop1-k2", "offline", T0),
        status("shop2", "shop2-k1", "online", T0),
        *(telemetry("shop1", "shop1-k1", T0 + i * 30_000) for i in range(1, 6)),
        telemetry("shop2", "shop2-k1", T0 + 30_000, printer="paper_out"),
        outcome("shop1-k1", T0 + 1000, "config", "rules", True, None, 1),
        outcome("shop1-k1", T0 + 2000, "config", "prices", False, "stale: version 5 is not newer than 7", 2),
        outcome("shop1-k1", T0 + 3000, "command", "lock", True, None, 3),
    ])
    hub.apply([Batch("k2", [event("k2", 1, stored_value=-8000)])])  # spent offline what the hub never saw


def _missing(why: str) -> None:
    """Skip on a developer's machine without Chromium; fail in CI, where bootstrap installs it."""
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


def _wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"hub web exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"{url}/login", timeout=1).close()
            return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise RuntimeError(f"hub web did not answer in {timeout} s: {log.read_text()[-2000:]}") from None
            time.sleep(0.05)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A broker of this module's own: the configs pushed here stay retained on it, out of other tests' way."""
    b = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    b.start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, broker: Mosquitto) -> Iterator[Console]:
    """`memberkiosk hub web` on a filled hub database, able to push through the test broker; stopped by PID."""
    root = tmp_path_factory.mktemp("console")
    data_dir, key_dir = root / "hub", root / "keys"
    db_url = f"sqlite:///{data_dir}/hub.sqlite"
    with HubStore.open(db_url) as hub:
        fill(hub)
    signing.init_keys(key_dir, PASSPHRASE.encode())
    (root / "bundles").mkdir()
    (root / "hub.password").write_text(password("hub") + "\n")
    env = {**os.environ, "MEMBERKIOSK_DATA_DIR": str(data_dir)}
    port, log = free_port(), root / "web.log"
    with log.open("w") as out:
        proc = subprocess.Popen([_console_script(), "hub", "web", "--port", str(port), "--broker", broker.url,
                                 "--ca-file", str(broker.pki.ca_file), "--password-file", str(root / "hub.password"),
                                 "--key-dir", str(key_dir), "--bundles", str(root / "bundles")],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        # accounts are read at each login, so they may be added while the console starts
        subprocess.run([_console_script(), "hub", "users", "add", OPERATOR[0], "--role", "operator"],
                       input=OPERATOR[1] + "\n", text=True, env=env, check=True, capture_output=True, timeout=30)
        with HubStore.open(db_url) as hub:
            Accounts(hub.db).add(*VIEWER[:1], "viewer", VIEWER[1])
        _wait_ready(url, proc, log)
        yield Console(url, data_dir, db_url, key_dir, root / "bundles")
    finally:
        terminate(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium under Debian's chromedriver; one per module, quit at its end."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        _missing("Chromium is not installed (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed (pip install -e '.[test]')")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900", "--lang=en-US"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or CHROMEDRIVER))
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots() -> Path:
    """test-artifacts/web/, for screenshots a person looks at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
