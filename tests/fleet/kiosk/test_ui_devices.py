"""The fleet agent and the UI's device runtime in one process (`memberkiosk kiosk`): the runtime starts after the
agent and is lent to it (FleetAgent.use_devices), so telemetry reports the devices the UI drives and `print_test`
prints a test receipt through the runtime's print queue; before and after, devices read absent and it fails. The UI
leaves the lock listeners it subscribed when it stops."""
from __future__ import annotations

from kiosk.runtime import DeviceRuntime
from kiosk.store import print_jobs
from mqtt.fleet import protocol
from tests.fleet.kiosk.conftest import wait

SIMS = {"card": {"type": "sim"}, "scanner": {"type": "sim"}, "printer": {"type": "sim"}}
ABSENT = {"reader": "absent", "scanner": "absent", "printer": "absent"}


def _telemetry(operator, devices: dict[str, str]) -> dict:
    """The next telemetry whose devices are `devices` (earlier ones are dropped)."""
    while True:
        _, body = operator.telemetry.get(timeout=5)
        if body["devices"] == devices:
            return body


def _print_test(operator, k) -> dict:
    doc = operator.command("print_test", k.clock.now_ms())
    return operator.outcome(lambda o: o["id"] == doc["id"])


def test_the_uis_devices_are_reported_and_print_test_prints_on_its_printer(fleet_kiosk, operator) -> None:
    k, fleet = fleet_kiosk()
    refused = _print_test(operator, k)
    assert not refused["ok"] and "no printer" in refused["reason"]

    with DeviceRuntime.start(k, SIMS) as runtime:
        detach = fleet.use_devices(runtime)
        _telemetry(operator, {"reader": "ok", "scanner": "ok", "printer": "ok"})
        done = _print_test(operator, k)
        assert done["ok"], done
        printer = runtime.devices["printer"]
        wait(lambda: printer.jobs)
        assert "打印测试 PRINT TEST".encode("gb18030") in printer.jobs[0] and b"shop1-k1" in printer.jobs[0]
        wait(lambda: _pending(k) == [])  # the worker marks the job printed just after the printer took its bytes
        detach()

    _telemetry(operator, ABSENT)
    assert not _print_test(operator, k)["ok"]


def test_a_lock_listener_that_unsubscribed_is_not_called(kiosk) -> None:
    heard: list[str | None] = []
    stay, leave = kiosk.fleet.subscribe(heard.append), kiosk.fleet.subscribe(lambda r: heard.append(f"left {r}"))
    leave()
    leave()  # twice is harmless (an app stopped twice)
    now = kiosk.clock.now_ms()
    outcome = protocol.outcome("command", "lock", True, now, item_id="c1")
    kiosk.fleet.record_command("c1", "lock", now + 60_000, outcome, lock="盘点中")
    assert heard == ["盘点中"]
    stay()


def _pending(k) -> list:
    with k.db.reading() as conn:
        return print_jobs.pending(conn)
