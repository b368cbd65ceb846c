"""Sync files: signed by the kiosk's key, refused when altered, from another store or from an untrusted key."""
from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from kiosk.app import Kiosk
from kiosk.store.keyring import SIGNING_FILE
from kiosk.services.sync import SyncFileRefused
from tests.sync.helpers import member_with, stored


def test_the_key_is_made_when_first_needed_and_readable_by_the_kiosk_only(pair, tmp_path: Path) -> None:
    a, _b = pair
    key = a.keys.directory / SIGNING_FILE
    assert not key.exists()
    a.sync.export(tmp_path / "a.sync")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and not key.is_relative_to(a.data_dir)


def test_a_tampered_file_is_refused_and_nothing_is_imported(pair, tmp_path: Path) -> None:
    a, b = pair
    member = member_with(a, "13800138000", 10_000)
    a.sync.export(tmp_path / "a.sync")
    text = (tmp_path / "a.sync").read_text(encoding="utf-8")
    assert text.count('"stored_value":10000') == 1
    (tmp_path / "bad.sync").write_text(text.replace('"stored_value":10000', '"stored_value":90000'), encoding="utf-8")
    with pytest.raises(SyncFileRefused, match="altered after kiosk A signed it"):
        b.sync.import_file(tmp_path / "bad.sync")
    with pytest.raises(SyncFileRefused, match="not a memberkiosk sync file"):
        (tmp_path / "junk.sync").write_text("{}", encoding="utf-8")
        b.sync.import_file(tmp_path / "junk.sync")
    assert stored(b, member) == 0
    assert b.sync.import_file(tmp_path / "a.sync").events.new == 2


def test_a_kiosk_id_signing_with_another_key_is_refused_until_forgotten(pair, tmp_path: Path) -> None:
    a, b = pair
    member_with(a, "13800138000", 10_000)
    a.sync.export(tmp_path / "a1.sync")
    b.sync.import_file(tmp_path / "a1.sync")  # B learns A's key
    (a.keys.directory / SIGNING_FILE).unlink()  # A reinstalled: a new key
    a.sync.export(tmp_path / "a2.sync")
    with pytest.raises(SyncFileRefused, match="different key than the one kiosk A used before"):
        b.sync.import_file(tmp_path / "a2.sync")
    assert b.sync.forget("A")
    assert b.sync.import_file(tmp_path / "a2.sync").events.duplicate == 2


def test_a_file_from_another_store_is_refused(pair, tmp_path: Path, clock) -> None:
    a, _b = pair
    with Kiosk.open(tmp_path / "other", clock=clock, kiosk_id="X1", store_id="s2") as other:
        member_with(other, "13800138000", 10_000)
        other.sync.export(tmp_path / "x.sync")
    with pytest.raises(SyncFileRefused, match="comes from store s2"):
        a.sync.import_file(tmp_path / "x.sync")


def test_since_a_previous_export_writes_only_what_is_newer(pair, tmp_path: Path) -> None:
    a, b = pair
    first = member_with(a, "13800138000", 10_000)
    whole = a.sync.export(tmp_path / "a1.sync")
    second = member_with(a, "13900139000", 5_000)
    newer = a.sync.export(tmp_path / "a2.sync", since=tmp_path / "a1.sync")
    assert (whole.events, newer.events) == (2, 2) and newer.covers["events"] == [2, 4]
    b.sync.import_file(tmp_path / "a2.sync")
    b.sync.import_file(tmp_path / "a1.sync")  # files may arrive in any order
    assert (stored(b, first), stored(b, second)) == (10_000, 5_000)
    shutil.copy(tmp_path / "a2.sync", tmp_path / "b-named.sync")
    with pytest.raises(SyncFileRefused, match="not exported by this kiosk"):
        b.sync.export(tmp_path / "b.sync", since=tmp_path / "b-named.sync")
    assert json.loads((tmp_path / "a2.sync").read_text(encoding="utf-8"))["signed"]["kiosk_id"] == "A"
