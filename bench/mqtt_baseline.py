"""The bare-paho baseline: QoS 1 publish -> subscribe over TLS to a real mosquitto on loopback, in msg/s.

    python bench/mqtt_baseline.py [--messages 5000] [--payload 200] [--runs 3] [--json]

One paho client publishes as a kiosk on its up/events topic without waiting between messages (paho's default
window of 20 in flight), another subscribes as the hub; a run ends when the hub has every message. The broker is
the shipped mosquitto config (tests/mqtt/broker.py). bench/sync.py calls `measure` in its own run to compare.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.subscribeoptions import SubscribeOptions

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mqtt import topics  # noqa: E402
from tests.mqtt.broker import Mosquitto, password  # noqa: E402

KIOSK, STORE = "shop1-k1", "shop1"


def _client(broker: Mosquitto, user: str) -> paho.Client:
    c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-{user}", protocol=paho.MQTTv5)
    c.tls_set(ca_certs=str(broker.pki.ca_file))
    c.username_pw_set(user, password(user))
    return c


def one_run(broker: Mosquitto, messages: int, payload: bytes) -> float:
    """Messages per second from the first publish to the last delivery."""
    topic = topics.up(STORE, KIOSK, "events")
    done, subscribed = threading.Event(), threading.Event()
    received = 0

    def on_message(client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        nonlocal received
        received += 1
        if received == messages:
            done.set()

    hub, kiosk = _client(broker, topics.SHARE_GROUP), _client(broker, KIOSK)
    hub.on_message = on_message
    hub.on_subscribe = lambda *args: subscribed.set()
    for c in (hub, kiosk):
        c.connect("127.0.0.1", broker.port)
        c.loop_start()
    hub.subscribe(topic, options=SubscribeOptions(qos=1))
    if not subscribed.wait(10):
        raise RuntimeError("the hub's subscription was not granted")
    started = time.perf_counter()
    for _ in range(messages):
        kiosk.publish(topic, payload, qos=1)
    if not done.wait(120):
        raise RuntimeError(f"only {received} of {messages} messages arrived")
    elapsed = time.perf_counter() - started
    for c in (hub, kiosk):
        c.disconnect()
        c.loop_stop()
    return messages / elapsed


def measure(broker: Mosquitto, messages: int = 5000, payload_size: int = 200, runs: int = 3) -> dict[str, float]:
    """The median msg/s of `runs` runs, and each run's."""
    rates = [one_run(broker, messages, os.urandom(payload_size // 2).hex().encode()) for _ in range(runs)]
    return {"median_msg_s": statistics.median(rates), "runs_msg_s": rates, "messages": messages,
            "payload_bytes": payload_size, "load_average": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--payload", type=int, default=200, help="bytes per message")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp))
        broker.start()
        try:
            result = measure(broker, args.messages, args.payload, args.runs)
        finally:
            broker.stop()
    if args.json:
        print(json.dumps(result))
        return
    runs = ", ".join(f"{r:,.0f}" for r in result["runs_msg_s"])
    print(f"bare paho QoS 1 publish->subscribe, TLS on loopback, {args.messages} x {args.payload} B: "
          f"median {result['median_msg_s']:,.0f} msg/s (runs: {runs}; load average {result['load_average']:.1f})")


if __name__ == "__main__":
    main()
