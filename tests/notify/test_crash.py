"""`memberkiosk notify run` killed with SIGKILL at random moments while it sends: every message reaches the provider,
none is lost and, with the provider deduping by idempotency key, none is delivered twice."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from core.events import MEMBER_REGISTERED, TOPPED_UP
from kiosk.app import Kiosk
from kiosk.followers.notices import NoticesFollower
from kiosk.notices.settings import load_settings
from kiosk.services.members import Registration
from kiosk.services.topup import top_up
from kiosk.store import ledger
from tests.conftest import _console_script, wait_until
from tests.notify.conftest import APP_KEY, SECRET

MEMBERS = 8
ROUNDS = 5


def _statuses(data: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{data / 'ledger.sqlite'}?mode=ro", uri=True) as conn:
        return dict(conn.execute("SELECT status, COUNT(*) FROM notices GROUP BY status").fetchall())


def test_sender_killed_at_random_moments_delivers_every_message_exactly_once(tmp_path, sms, key_dir):
    fake_sms, url = sms
    data = tmp_path / "data"
    (key_dir).mkdir(parents=True, exist_ok=True)
    (key_dir / "sms.secret").write_bytes(SECRET + b"\n")
    conf = tmp_path / "kiosk.toml"
    conf.write_text(f'[notify]\ngateway = "http"\nhttp_url = "{url}"\napp_key = "{APP_KEY}"\n'
                    'retry_seconds = 0.05\ntimeout_seconds = 2\n', encoding="utf-8")
    env = {**os.environ, "MEMBERKIOSK_DATA_DIR": str(data), "MEMBERKIOSK_CONFIG": str(conf)}

    with Kiosk.open(data, kiosk_id="k1", store_id="s1") as k:
        NoticesFollower(k.db, k.clock, "k1", lambda: load_settings(k.docs, "s1"))  # notifications on from here
        for n in range(MEMBERS):
            m = k.members.register(Registration(phone=f"138001380{n:02d}", consent=True)).member
            top_up(k.members, m.member_id, 10_000, operator="M01")
        with k.db.reading() as conn:
            expected = {f"{e.id}:{ {MEMBER_REGISTERED: 'registered', TOPPED_UP: 'topped_up'}[e.type]}"
                        for _p, e, _c, _s in ledger.all_events(conn) if e.type in (MEMBER_REGISTERED, TOPPED_UP)}
    assert len(expected) == 2 * MEMBERS

    rng = random.Random(2026)
    fake_sms.fail_rate, fake_sms.delay_s = 0.2, 0.05  # busy answers, and a window between accepting and answering
    command = [_console_script(), "notify", "run", "--poll", "0.05", "--json"]
    kills = 0
    for _ in range(ROUNDS):
        before = sum(fake_sms.requests.values())
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        target = before + rng.randint(1, 4)
        wait_until(lambda: sum(fake_sms.requests.values()) >= target or proc.poll() is not None, 60, "a send")
        time.sleep(rng.uniform(0, 0.06))  # inside or just after the provider's answer
        proc.send_signal(signal.SIGKILL)
        kills += proc.wait() == -signal.SIGKILL
    assert kills == ROUNDS
    assert len(fake_sms.delivered) < len(expected)  # the kills really interrupted the work

    fake_sms.fail_rate = 0.0
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: _statuses(data).get("sent") == len(expected), 60, "every notice recorded as sent")
    finally:
        proc.send_signal(signal.SIGTERM)  # systemctl stop: it leaves its loop and exits cleanly
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err

    assert set(fake_sms.delivered) == expected  # none lost, none unexpected, each delivered once (deduped by key)
    assert _statuses(data) == {"sent": len(expected)}
    print(f"{kills} kills, {sum(fake_sms.requests.values())} requests, {fake_sms.copies} copies dropped by key")
