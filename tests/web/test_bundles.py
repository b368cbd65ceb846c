"""`hub web --bundles DIR` serves signed update bundles at /updates/NAME: a kiosk's fetch (mqtt.fleet.update_fetch)
downloads one from the real console over 127.0.0.1, verifies and stages it; a path that leaves DIR is refused by the
console, and the kiosk stages nothing from it."""
from __future__ import annotations

import hashlib
import http.client
from urllib.parse import urlsplit

import pytest

from mqtt.fleet.protocol import Failed
from mqtt.fleet.update_fetch import Stager, pending_dir
from tests.update.conftest import make_bundle, operator_key  # noqa: F401
from tests.web.conftest import broker, console  # noqa: F401

COMMAND = "0b0e6a4e-1111-4222-8333-444455556666"
OUTSIDE = ("/updates/../x", "/updates/%2e%2e/x", "/updates/..%2fx", "/updates/%2e%2e%2fx")


def test_a_kiosk_fetches_and_stages_a_bundle_the_console_serves_and_nothing_outside_its_folder(
        console, make_bundle, operator_key, tmp_path) -> None:  # noqa: F811
    bundle = make_bundle("2.0")
    (console.bundles / "mk-2.0.tar").write_bytes(bundle.read_bytes())
    (console.bundles.parent / "x").write_text("not a bundle: beside the bundles folder, not in it")
    data_dir = tmp_path / "kiosk"
    data_dir.mkdir()
    stager = Stager(data_dir, tmp_path / "opt", operator_key.public_key(), lambda: "1.0", 1 << 24, 10.0)
    args = {"version": "2.0", "url": f"{console.url}/updates/mk-2.0.tar", "size": bundle.stat().st_size,
            "sha256": hashlib.sha256(bundle.read_bytes()).hexdigest()}

    assert stager.stage(COMMAND, args) == {"state": "staged", "version": "2.0"}
    staged = pending_dir(data_dir) / f"{COMMAND}.tar"
    assert staged.read_bytes() == bundle.read_bytes()

    address = urlsplit(console.url)
    for path in OUTSIDE:
        conn = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
        conn.request("GET", path)  # sent as written: no client folds the dots away first
        response = conn.getresponse()
        assert (response.status, b"not a bundle" in response.read()) == (404, False), path
        conn.close()
        with pytest.raises(Failed, match="Not Found"):
            stager.stage(COMMAND.replace("0b0e", "0c0e"), {**args, "url": console.url + path})
    assert list(pending_dir(data_dir).iterdir()) == [staged]
