"""Hub workers under stress: two workers sharing one PostgreSQL, and a broker that restarts mid-stream."""
from __future__ import annotations

import pytest

from mqtt.hub.store import HubStore
from tests.hub.helpers import event
from tests.mqtt.broker import KIOSKS, Mosquitto

N = 1500  # events per kiosk


def events_of(kiosk: str) -> list:
    return [event(kiosk, s, f"m{s % 7}", s % 50 + 1, store=KIOSKS[kiosk]) for s in range(1, N + 1)]


def expected_stored_value(member: str) -> int:
    return len(KIOSKS) * sum(s % 50 + 1 for s in range(1, N + 1) if f"m{s % 7}" == member)


def assert_each_event_once(store: HubStore) -> None:
    for k in KIOSKS:
        assert store.watermark(k) == N
        assert [e.seq for e in store.events(k, limit=10 * N)] == list(range(1, N + 1))
    for m in range(7):
        assert store.balances(f"m{m}").stored_value == expected_stored_value(f"m{m}")


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_two_workers_on_one_postgresql_share_the_load_and_apply_each_event_once(serve, kiosk,
                                                                                 store: HubStore) -> None:
    workers = [serve(group_max=5), serve(group_max=5)]
    kiosks = [kiosk(k) for k in KIOSKS]
    for k in kiosks:  # all in flight at once, then each kiosk waits for its acks
        k.send(events_of(k.kiosk), max_batch=50)
    for k in kiosks:
        k.deliver(events_of(k.kiosk))
    assert all(w.handled["events"] > 0 for w in workers), [w.handled for w in workers]
    assert sum(w.handled["events_new"] for w in workers) == len(KIOSKS) * N
    assert_each_event_once(store)


def test_a_broker_restart_mid_stream_loses_nothing_and_doubles_nothing(serve, kiosk, store: HubStore,
                                                                       own_broker: Mosquitto) -> None:
    hub = serve(on=own_broker)
    kiosks = [kiosk(k, on=own_broker) for k in KIOSKS]
    for k in kiosks:
        k.send(events_of(k.kiosk)[:N // 2], head=N, max_batch=50)
    own_broker.restart(down_for=0.3)
    for k in kiosks:
        assert k.conn.wait_connected(10)
        k.deliver(events_of(k.kiosk))
    assert_each_event_once(store)
    assert hub.handled["events_new"] == len(KIOSKS) * N
