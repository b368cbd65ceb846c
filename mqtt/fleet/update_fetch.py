"""The kiosk's half of an update: fetch the announced bundle, verify it whole, stage it for the root updater; and
report the updater's outcome to head office at the next start.

A running kiosk is sandboxed (ProtectSystem=strict, NoNewPrivileges): it cannot write /opt. So it only stages:
`<data>/updates/pending/<command id>.tar` appears by one rename once the bundle is verified, which starts
memberkiosk-update.service (root) through memberkiosk-update.path. The pending folder is group-writable so the
updater (group kiosk) can take the bundle out of it. The updater writes its outcome to `<update root>/last-update.json`
(never into the kiosk's data: root does not write where the kiosk user could plant links); the kiosk reports it
once, as the update command's outcome, and notes its id in `<data>/updates/reported`; its telemetry carries it for as
long as it is the last (the UPDATE of `fleet status`).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.store.documents import atomic_write, fsync_dir
from mqtt.fleet import protocol, update_bundle
from mqtt.fleet.protocol import Failed, Malformed

log = logging.getLogger(__name__)
UPDATES, PENDING, INCOMING, REPORTED = "updates", "pending", "incoming", "reported"
OUTCOME_FILE = "last-update.json"  # in the update root, written by the updater
INSTALLED = "installed"
_CHUNK = 1 << 16


def pending_dir(data_dir: Path) -> Path:
    """Where verified bundles wait for the root updater."""
    return data_dir / UPDATES / PENDING


@dataclass(frozen=True)
class Stager:
    """Fetches, verifies and stages the bundles `update` commands announce."""

    data_dir: Path
    update_root: Path
    key: Ed25519PublicKey
    running: Callable[[], str]  # the version running here
    max_bytes: int
    timeout: float

    def stage(self, command_id: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Fetch the bundle `args` announce, verify it (size, sha256, signature, files, newer than what runs) and
        stage it; a Refusal says why not, and nothing is staged then."""
        version, size = args["version"], args["size"]
        if not update_bundle.newer(version, self.running()):
            raise protocol.Stale(f"version {version} is not newer than {self.running()}, which runs here")
        if size > self.max_bytes:
            raise Malformed(f"the bundle has {size} bytes, over this kiosk's limit of {self.max_bytes}"
                            " (update.max_bundle_mb)")
        updates = self.data_dir / UPDATES
        incoming, pending = updates / INCOMING, updates / PENDING
        for folder, mode in ((updates, 0o750), (incoming, 0o750), (pending, 0o770)):
            folder.mkdir(exist_ok=True)
            os.chmod(folder, mode)  # the updater (group kiosk) removes what it took from pending/
        part = incoming / f"{command_id}.tar.part"
        try:
            self._download(args["url"], part, size, args["sha256"])
            with part.open("rb") as f:
                bundle = update_bundle.read(f, self.key, self.running())
            if bundle.version != version:
                raise Malformed(f"the bundle holds version {bundle.version}, not the {version} announced")
            os.chmod(part, 0o640)
            os.replace(part, pending / f"{command_id}.tar")
            fsync_dir(pending)
        finally:
            part.unlink(missing_ok=True)
        log.info("update %s fetched, verified and staged for the updater", version)
        return {"state": "staged", "version": version}

    def _download(self, url: str, dest: Path, size: int, sha256: str) -> None:
        if not url.startswith(("http://", "https://")):
            raise Malformed(f"the bundle's URL {url!r} is not http(s)")
        digest, got = hashlib.sha256(), 0
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response, dest.open("wb") as out:
                while chunk := response.read(_CHUNK):
                    got += len(chunk)
                    if got > size:
                        raise update_bundle.Corrupt(f"the download is longer than the {size} bytes announced")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            raise Failed(f"cannot fetch {url}: {getattr(e, 'reason', e)}; the hub serves bundles with "
                         "`hub web --bundles DIR`") from None
        if got != size:
            raise update_bundle.Corrupt(f"the download was cut short: {got} of {size} bytes")
        if digest.hexdigest() != sha256:
            raise update_bundle.Corrupt("the download's sha256 is not the one announced")

    def report_last(self, record: Callable[[dict[str, Any]], None], now: int) -> dict[str, Any] | None:
        """Hand the updater's outcome not yet reported from here to `record`, as the update command's outcome,
        then note it reported (a stop in between reports it twice, which the hub keeps once); returns it."""
        done = self._last()
        if done is None:
            return None
        reported = self.data_dir / UPDATES / REPORTED
        key = f"{done.get('command_id')} {done.get('at')}"
        if reported.exists() and reported.read_text(encoding="utf-8") == key:
            return None
        state, command_id = done.get("state"), done.get("command_id")
        found = protocol.outcome("command", "update", state == INSTALLED, max(now, done.get("at") or 0),
                                 item_id=command_id if isinstance(command_id, str) else None,
                                 reason=None if state == INSTALLED else done.get("reason"),
                                 result={k: done.get(k) for k in ("state", "version", "from_version")})
        record(found)
        (self.data_dir / UPDATES).mkdir(exist_ok=True)
        atomic_write(reported, key.encode())
        return found

    def last_outcome(self) -> dict[str, Any] | None:
        """The updater's last outcome as telemetry carries it (version tried, from_version, state, reason, at), so
        `fleet status` shows it for as long as it is the last; None before the first update."""
        done = self._last()
        if done is None:
            return None
        found = {key: done.get(key) for key in protocol.UPDATE_KEYS}
        if not protocol.is_update_outcome(found):
            log.error("the updater's outcome in %s is malformed; not reported: %s", self.update_root, found)
            return None
        return found

    def _last(self) -> dict[str, Any] | None:
        """The record the updater wrote last (mqtt.fleet.update_apply); None when there is none or it is unreadable."""
        try:
            done = json.loads((self.update_root / OUTCOME_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            log.error("cannot read the updater's outcome in %s: %s", self.update_root, e)
            return None
        return done if isinstance(done, dict) else None
