"""An update through the real fleet path: the operator announces it with a signed `update` command on the fleet
broker, the kiosk's agent fetches the bundle over HTTP, verifies and stages it; `memberkiosk update apply` (a real
process, as systemd would start it) installs it; the kiosk reports the outcome at its next start and the hub records
it as the command's outcome, beside the running version that `fleet status` shows."""
from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from mqtt.fleet.protocol import software_version
from mqtt.fleet.update_fetch import Stager, pending_dir
from tests.conftest import _console_script
from tests.fleet.conftest import fleet_broker  # noqa: F401
from tests.fleet.hub.conftest import fleet_service  # noqa: F401
from tests.fleet.kiosk.conftest import broker, fleet_kiosk, operator, wait  # noqa: F401
from tests.hub.conftest import store  # noqa: F401
from tests.update.conftest import Site


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """The hub on SQLite (tests/fleet/hub runs the fleet tables on PostgreSQL too)."""
    return f"sqlite:///{tmp_path}/hub.db"


@pytest.fixture
def http(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A plain HTTP server on 127.0.0.1 serving a folder, as `hub web --bundles` does: (base URL, folder)."""
    folder = tmp_path / "bundles"
    folder.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=folder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()
    server.server_close()


def test_an_announced_update_is_fetched_staged_installed_and_its_outcome_reaches_the_hub(
        tmp_path, fleet_kiosk, operator, operator_key, fleet_service, store, http, make_bundle) -> None:  # noqa: F811
    site = Site(tmp_path / "appliance", operator_key)
    base, folder = http
    bundle = make_bundle("2.0")
    (folder / "mk-2.0.tar").write_bytes(bundle.read_bytes())
    data_dir = tmp_path / "shop1-k1"  # where fleet_kiosk opens the kiosk
    stager = Stager(data_dir, site.root, operator_key.public_key(), lambda: "1.0", 1 << 24, 10.0)
    k, fleet = fleet_kiosk(updates=stager)
    args = {"version": "2.0", "url": f"{base}/mk-2.0.tar", "size": bundle.stat().st_size,
            "sha256": hashlib.sha256(bundle.read_bytes()).hexdigest()}

    cmd = operator.command("update", k.clock.now_ms(), args=args)
    staged = operator.outcome(lambda o: o["id"] == cmd["id"], timeout=10)
    assert staged["ok"], staged["reason"]
    assert staged["result"] == {"state": "staged", "version": "2.0"}
    assert [p.name for p in pending_dir(data_dir).iterdir()] == [f"{cmd['id']}.tar"]
    cut = operator.command("update", k.clock.now_ms(), args={**args, "size": args["size"] + 10})
    assert operator.outcome(lambda o: o["id"] == cut["id"], timeout=10)["reason"] == \
        f"corrupt: the download was cut short: {args['size']} of {args['size'] + 10} bytes"

    keys, config = tmp_path / "shop1-k1-keys", tmp_path / "updater.toml"  # fleet_kiosk's key directory
    config.write_text(f'[update]\nroot = "{site.root}"\n'
                      f'restart = "{{release}}/bin/memberkiosk ready {site.run}/ready"\n'
                      f'ready = "grep -qx {{version}} {site.run}/ready"\nverify = "{{release}}/bin/memberkiosk verify"\n')
    env = {**os.environ, "MEMBERKIOSK_CONFIG": str(config), "MEMBERKIOSK_KEY_DIR": str(keys)}
    done = subprocess.run([_console_script(), "--data-dir", str(data_dir), "update", "apply"], capture_output=True,
                          text=True, timeout=60, env=env)
    assert done.returncode == 0 and done.stdout == "2.0: installed\n", done.stderr
    assert os.readlink(site.root / "current") == "releases/2.0" and not list(pending_dir(data_dir).iterdir())

    stager.report_last(k.fleet.record_outcome, k.clock.now_ms() + 1)  # what the kiosk does at its next start
    fleet.agent.wake()
    wait(lambda: (found := store.fleet_outcomes("shop1-k1", cmd["id"])) and found[0].result.get("state") == "installed",
         timeout=10)
    [recorded] = store.fleet_outcomes("shop1-k1", cmd["id"])  # the command's one row now says installed
    assert (recorded.ok, recorded.name, recorded.result) == (True, "update", {"state": "installed", "version": "2.0",
                                                                             "from_version": "1.0"})
    assert store.fleet_kiosk("shop1-k1").version == software_version()  # `fleet status`: what runs there
