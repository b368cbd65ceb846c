"""Kill -9 at random moments: every reported commit survives exactly once, nothing is partial."""
from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.app import Kiosk
from kiosk.store import members as member_rows
from kiosk.store.documents import DOCS_FILE, load_verified
from kiosk.store.verify import verify_ledger

ROUNDS = int(os.environ.get("MEMBERKIOSK_CRASH_ROUNDS", "100"))  # a soak: MEMBERKIOSK_CRASH_ROUNDS=1000
REPO = Path(__file__).resolve().parents[2]


def _run_and_kill(mode: str, data_dir: Path, rng: random.Random, window: float = 0.12) -> list[str]:
    """Start the child, let it commit for a random while (up to `window` s), SIGKILL it; return the lines it
    reported."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.store.crash_child", mode, str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, text=True,
    )
    ready, _, _ = select.select([child.stdout], [], [], 30)
    assert ready and child.stdout.readline().strip() == "ready", child.stderr.read()
    deadline = time.monotonic() + rng.uniform(0.0, window)
    while time.monotonic() < deadline:  # bounded by the random deadline
        select.select([], [], [], 0.005)
    child.send_signal(signal.SIGKILL)
    out, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    return out.splitlines()


@pytest.mark.slow
def test_ledger_survives_kill_minus_nine(tmp_path: Path) -> None:
    rng = random.Random(20261123)
    data_dir = tmp_path / "data"
    registered: dict[str, str] = {}
    topups: dict[str, tuple[str, int]] = {}
    for _ in range(ROUNDS):
        for line in _run_and_kill("ledger", data_dir, rng):
            kind, key, *rest = line.split()
            if kind == "register":
                registered[key] = rest[0]
            else:
                topups[key] = (rest[0], int(rest[1]))
        with Kiosk.open(data_dir) as kiosk, kiosk.db.reading() as conn:
            assert verify_ledger(conn) == []
            for member_id, phone in registered.items():
                assert member_rows.get(conn, member_id).phone == phone  # decrypted with the kiosk's key
            # every registration is whole: member row, its card and both events, or none of them
            assert conn.execute(
                "SELECT COUNT(*) FROM members m WHERE (SELECT COUNT(*) FROM cards c WHERE c.member_id = m.member_id) != 1"
                " OR (SELECT COUNT(*) FROM events e WHERE e.member_id = m.member_id"
                "     AND e.type IN ('member.registered', 'card.linked')) != 2"
            ).fetchone() == (0,)
            stored = {
                row[0]: (row[1], json.loads(row[2])["stored_value"])
                for row in conn.execute("SELECT id, member_id, deltas FROM events WHERE type = 'stored_value.topped_up'")
            }
            for event_id, expected in topups.items():
                assert stored.get(event_id) == expected, f"reported top-up {event_id} lost"
            ids = [r[0] for r in conn.execute("SELECT id FROM events")]
            assert len(ids) == len(set(ids))
    assert len(registered) > 20 and len(topups) > 50, "the child barely committed: the test proved nothing"


@pytest.mark.slow
def test_documents_are_old_or_new_after_kill_minus_nine(tmp_path: Path) -> None:
    rng = random.Random(7)
    previous = None
    versions_seen = set()
    for _ in range(ROUNDS // 2):
        lines = _run_and_kill("documents", tmp_path, rng, window=0.3)  # a 2000-product write takes tens of ms
        # the child counts from 1 each round: the file holds the last version it reported or the next one
        allowed = {int(lines[-1].split()[1]), int(lines[-1].split()[1]) + 1} if lines else {previous, 1}
        if not (tmp_path / DOCS_FILE).exists():
            assert not lines
            continue
        catalog = load_verified(tmp_path / DOCS_FILE)["catalog"]
        versions = {doc["version"] for doc in catalog.values()}
        assert len(catalog) == 2000 and len(versions) == 1, "a torn document file"
        previous = versions.pop()
        assert previous in allowed
        versions_seen.add(previous)
    assert len(versions_seen) > 3
    assert len(list(tmp_path.glob(".*.tmp"))) <= 1, "temp files of killed writers must be cleaned at open"
