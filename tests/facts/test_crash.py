"""A kiosk killed (SIGKILL) between a commit and its facts follower, or in the middle of the follower's write, loses
nothing and doubles nothing: the next catch-up writes exactly the rows a rebuild from zero writes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kiosk.followers.facts import FactsFollower
from kiosk.followers.runner import catch_up, replay
from tests.facts.shop import facts
from tests.store.shop import open_shop

REPO = Path(__file__).resolve().parents[2]
SELLER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from core.quote_input import BasketLine, TenderRequest
    from kiosk.app import Kiosk
    from kiosk.followers.facts import FactsFollower
    from kiosk.followers.runner import catch_up

    kiosk = Kiosk.open(Path(sys.argv[1]), kiosk_id="k1", store_id="s1")
    follower = FactsFollower(kiosk.db, kiosk.clock)
    hold = int(sys.argv[2])
    for i in range(40):
        kiosk.sales.checkout(None, [BasketLine("TEA-500"), BasketLine("CHIPS", 1 + i % 3)],
                             tender=TenderRequest(cash=100_000))
        print("committed", flush=True)
        if i == hold:
            time.sleep(60)  # held in the window between the commit and the follower, to be killed there
        catch_up(kiosk.db, follower)
        print("followed", flush=True)
""")


def sell_until_killed(data_dir: Path, kill_after: str, count: int, hold: int = -1) -> None:
    """Run a selling process and SIGKILL it once it has printed `kill_after` `count` times."""
    proc = subprocess.Popen([sys.executable, "-c", SELLER, str(data_dir), str(hold)], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        seen = 0
        for line in proc.stdout:
            seen += line.strip() == kill_after
            if seen == count:
                proc.send_signal(signal.SIGKILL)
                break
        else:
            pytest.fail("the selling process ended before it was killed")
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_a_kill_between_commit_and_follower_or_inside_its_write_loses_and_doubles_nothing(kiosk):
    open_shop(kiosk)
    follower = FactsFollower(kiosk.db, kiosk.clock)
    sell_until_killed(kiosk.data_dir, "committed", 3, hold=2)  # killed while the third sale waits for its facts
    with kiosk.db.reading() as conn:
        assert conn.execute("SELECT COUNT(*) FROM fact_sales").fetchone()[0] == 2
    sell_until_killed(kiosk.data_dir, "followed", 6)  # killed anywhere in the next sale or its facts
    catch_up(kiosk.db, follower)
    caught_up = facts(kiosk)
    with kiosk.db.reading() as conn:
        sales = conn.execute("SELECT COUNT(*) FROM events WHERE type = 'sale.completed'").fetchone()[0]
    assert len(caught_up["fact_sales"]) == sales >= 9
    assert replay(kiosk.db, follower) > 0 and facts(kiosk) == caught_up
