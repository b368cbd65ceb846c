"""Update bundles: a wheelhouse and its manifest, signed with the operator's Ed25519 key.

A bundle is a tar of `manifest.json` (name, version, created_at, requires, and every file's sha256 and size),
`manifest.sig` (base64 Ed25519 over UPDATE_DOMAIN + the manifest's bytes) and `wheels/*.whl`. It travels over plain
HTTP from the hub: what makes it trustworthy is the signature under the operator key the kiosk already pins, so a
bundle is checked whole before anything is installed, and checked again by the root updater (the kiosk user can
write the pending directory, so root trusts nothing it did not verify itself). The wheelhouse must hold a pip
wheel: releases are made without pip (fast), so a bundle carries the pip that can install it.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from packaging.version import InvalidVersion, Version

from core.codec import dumps
from mqtt.fleet.protocol import Forged, Malformed, Refusal, Stale

UPDATE_DOMAIN = b"memberkiosk-update/1\n"  # an update signature is never valid as a fleet message, nor the reverse
MANIFEST, SIGNATURE, WHEELS = "manifest.json", "manifest.sig", "wheels"
DISTRIBUTION = "memberkiosk"
MAX_MANIFEST = 1 << 20

__all__ = ["Bundle", "Corrupt", "Forged", "Stale", "build", "newer", "read", "sha256_file"]


class Corrupt(Refusal):
    """A bundle cut short, not a tar, missing a file, or whose file differs from what the signed manifest says."""

    code = "corrupt"


@dataclass(frozen=True)
class Bundle:
    """A verified bundle: its manifest and the wheel files by name (their bytes checked against the manifest)."""

    manifest: dict[str, Any]
    wheels: dict[str, bytes]

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def requires(self) -> str:
        return self.manifest["requires"]

    def extract(self, directory: Path) -> Path:
        """Write the wheels into `directory`/wheels (a new folder); returns it."""
        wheels = directory / WHEELS
        wheels.mkdir(parents=True)
        for name, data in self.wheels.items():
            (wheels / name).write_bytes(data)
        return wheels

    def pip_wheel(self) -> str:
        """The name of the pip wheel that installs the bundle where no compiled pip is at hand."""
        return next(name for name in self.wheels if name.lower().startswith("pip-"))


def build(wheelhouse: Path, version: str, key: Ed25519PrivateKey, created_at: int, out: BinaryIO,
          name: str = DISTRIBUTION) -> dict[str, Any]:
    """Write a signed bundle of `wheelhouse`'s wheels to `out`; returns its manifest. Malformed when the wheelhouse
    lacks `name` at `version`, or pip (a release without pip installs the next bundle with the pip it carries)."""
    _version(version)
    wheels = sorted(p for p in wheelhouse.glob("*.whl") if p.is_file())
    prefix = f"{name.replace('-', '_')}-{version}-".lower()
    if not any(p.name.lower().startswith(prefix) for p in wheels):
        raise Malformed(f"{wheelhouse} has no wheel of {name} {version}: build it there first "
                        f"(pip wheel . -w {wheelhouse})")
    if not any(p.name.lower().startswith("pip-") for p in wheels):
        raise Malformed(f"{wheelhouse} has no pip wheel: add one (pip download pip -d {wheelhouse}); a release "
                        "without pip installs the bundle with it")
    files = {f"{WHEELS}/{p.name}": {"sha256": sha256_file(p), "size": p.stat().st_size} for p in wheels}
    manifest = {"name": name, "version": version, "created_at": created_at, "requires": name, "files": files}
    raw = dumps(manifest).encode()
    with tarfile.open(fileobj=out, mode="w") as tar:
        _add(tar, MANIFEST, raw)
        _add(tar, SIGNATURE, base64.b64encode(key.sign(UPDATE_DOMAIN + raw)) + b"\n")
        for p in wheels:
            tar.add(p, arcname=f"{WHEELS}/{p.name}", recursive=False)
    return manifest


def read(data: BinaryIO, key: Ed25519PublicKey, running: str | None = None) -> Bundle:
    """The bundle in `data`, verified: Corrupt (not a whole tar, a file missing or altered), Forged (the manifest's
    signature under `key`), Malformed (the manifest's fields), Stale (not newer than `running`, when given)."""
    try:
        with tarfile.open(fileobj=data, mode="r:") as tar:
            members = {m.name: m for m in tar.getmembers() if m.isfile()}
            raw, sig = (_member(tar, members, n, MAX_MANIFEST) for n in (MANIFEST, SIGNATURE))
            try:
                key.verify(base64.b64decode(sig.strip(), validate=True), UPDATE_DOMAIN + raw)
            except (binascii.Error, ValueError, InvalidSignature):
                raise Forged("the bundle's manifest is not signed by the operator key this kiosk trusts") from None
            manifest = _manifest(raw)
            if running is not None and not newer(manifest["version"], running):
                raise Stale(f"version {manifest['version']} is not newer than {running}, which runs here")
            wheels = {}
            for path, meta in manifest["files"].items():
                body = _member(tar, members, path, meta["size"])
                if len(body) != meta["size"] or hashlib.sha256(body).hexdigest() != meta["sha256"]:
                    raise Corrupt(f"{path} differs from the signed manifest (size or sha256)")
                wheels[path.removeprefix(f"{WHEELS}/")] = body
    except (tarfile.TarError, EOFError, OSError) as e:
        raise Corrupt(f"not a whole bundle ({e}): cut short on the way, or not a bundle") from None
    return Bundle(manifest, wheels)


def newer(version: str, than: str) -> bool:
    """Whether `version` is later than `than` (PEP 440); an unreadable running version counts as older."""
    try:
        return Version(version) > Version(than)
    except InvalidVersion:
        return True


def sha256_file(path: Path) -> str:
    """SHA-256 (hex) of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))


def _member(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], name: str, limit: int) -> bytes:
    info = members.get(name)
    if info is None:
        raise Corrupt(f"the bundle has no {name}")
    if info.size > limit:
        raise Corrupt(f"{name} has {info.size} bytes, more than the {limit} expected")
    f = tar.extractfile(info)
    assert f is not None  # a regular file
    body = f.read()
    if len(body) != info.size:
        raise Corrupt(f"{name} is cut short")
    return body


def _manifest(raw: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except ValueError as e:
        raise Malformed(f"the manifest is not JSON: {e}") from None
    ok = (isinstance(doc, dict) and isinstance(doc.get("name"), str) and isinstance(doc.get("requires"), str)
          and isinstance(doc.get("version"), str) and isinstance(doc.get("files"), dict) and doc["files"]
          and all(isinstance(p, str) and p.startswith(f"{WHEELS}/") and "/" not in p[len(WHEELS) + 1:]
                  and p.endswith(".whl") and isinstance(m, dict) and isinstance(m.get("sha256"), str)
                  and isinstance(m.get("size"), int) and m["size"] >= 0 for p, m in doc["files"].items()))
    if not ok:
        raise Malformed("the manifest lacks name, version, requires or files, or names a file outside wheels/")
    if not any(p.lower().startswith(f"{WHEELS}/pip-") for p in doc["files"]):
        raise Malformed("the bundle holds no pip wheel to install it with")
    _version(doc["version"])
    return doc


def _version(text: str) -> None:
    try:
        Version(text)
    except InvalidVersion:
        raise Malformed(f"version {text!r} is not a PEP 440 version (e.g. 1.4.2)") from None
