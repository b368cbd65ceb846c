"""The root updater on real venvs: a good bundle is installed and switched to; one whose new version fails its
health check is rolled back by itself; forged, truncated, tampered and older bundles are refused before anything
is installed. Every outcome lands in last-update.json and the pending bundle is always taken away."""
from __future__ import annotations

import io
import json
import os
import tarfile

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mqtt.fleet.update_fetch import OUTCOME_FILE


def last(site) -> dict:
    return json.loads((site.root / OUTCOME_FILE).read_text())


def test_a_good_bundle_is_installed_switched_to_and_reported(site, make_bundle) -> None:
    site.stage(make_bundle("2.0"))
    [done] = site.updater.apply()
    assert (done["state"], done["version"], done["from_version"], done["reason"]) == ("installed", "2.0", "1.0", None)
    assert os.readlink(site.root / "current") == "releases/2.0"
    assert (site.run / "ready").read_text() == "2.0"  # the new release's own script answered
    assert site.releases() == ["1.0", "2.0"]  # the previous release is kept
    assert last(site) == done and not list(site.pending.iterdir())
    assert site.updater.status()["current"] == "2.0"


def test_a_version_that_fails_verify_is_rolled_back_to_the_running_one(site, make_bundle) -> None:
    site.stage(make_bundle("2.1", verify_exit=3))
    [done] = site.updater.apply()
    assert done["state"] == "rolled back"
    assert done["reason"] == "rolled back: version 2.1 failed verify (exit 3)"
    assert os.readlink(site.root / "current") == "releases/1.0"
    assert (site.run / "ready").read_text().strip() == "1.0"  # the old release was restarted
    assert site.releases() == ["1.0"] and last(site) == done and not list(site.pending.iterdir())


def test_forged_truncated_tampered_and_older_bundles_are_refused_before_anything_is_installed(
        site, make_bundle) -> None:
    good = make_bundle("2.0").read_bytes()
    site.stage(make_bundle("2.0", key=Ed25519PrivateKey.generate()), "00000000-0000-4000-8000-000000000001")
    (site.pending / "00000000-0000-4000-8000-000000000002.tar").write_bytes(good[: len(good) // 2])
    (site.pending / "00000000-0000-4000-8000-000000000003.tar").write_bytes(_tampered(good))
    site.stage(make_bundle("0.9"), "00000000-0000-4000-8000-000000000004")
    for i, path in enumerate(sorted(site.pending.iterdir())):
        os.utime(path, (1_000 + i, 1_000 + i))  # oldest first, in this order
    reasons = [o["reason"] for o in site.updater.apply()]
    assert reasons[0].startswith("refused: forged: the bundle's manifest is not signed by the operator key")
    assert reasons[1].startswith("refused: corrupt:")
    assert reasons[2] == "refused: corrupt: wheels/memberkiosk-2.0-py3-none-any.whl differs from the signed manifest" \
                         " (size or sha256)"
    assert reasons[3] == "refused: stale: version 0.9 is not newer than 1.0, which runs here"
    assert os.readlink(site.root / "current") == "releases/1.0" and site.releases() == ["1.0"]
    assert not list(site.pending.iterdir())


def _tampered(bundle: bytes) -> bytes:
    """The same bundle with one byte of the memberkiosk wheel changed (manifest and signature untouched)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(bundle)) as src, tarfile.open(fileobj=out, mode="w") as dst:
        for m in src.getmembers():
            body = src.extractfile(m).read()
            if m.name.startswith("wheels/memberkiosk-"):
                body = body[:-1] + bytes([body[-1] ^ 1])
            dst.addfile(m, io.BytesIO(body))
    return out.getvalue()
