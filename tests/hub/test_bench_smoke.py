"""bench/sync.py's simulated kiosks against a real hub worker, with few events: the bench's load path still works."""
from __future__ import annotations

from pathlib import Path

from bench import sync_sim
from mqtt.hub.store import HubStore
from tests.mqtt.broker import HUB, Mosquitto


def test_simulated_kiosks_get_every_event_applied_and_acked(tmp_path: Path, store: HubStore, serve) -> None:
    ids = sync_sim.kiosk_ids(3)
    broker = Mosquitto(tmp_path / "broker", users=(HUB, *ids))
    broker.start()
    try:
        serve(on=broker)
        kiosks = [sync_sim.SimulatedKiosk(broker, k, members=7) for k in ids]
        try:
            for _ in range(2):  # the second round goes on from the first's sequence
                assert sync_sim.events_per_second(kiosks, 600, timeout=30) > 0
        finally:
            for k in kiosks:
                k.close()
        assert [store.watermark(k) for k in ids] == [1200] * 3
    finally:
        broker.stop()
