"""One MQTT v5 connection to the chain's broker: TLS, a per-kiosk login, a last will, refusals as errors.

A small wrapper over paho-mqtt 2.x so the agent and the hub never touch paho's callbacks:
- mqtts:// verifies the broker against a CA file; plain mqtt:// is refused off 127.0.0.1 (kiosk.config.broker).
- A v5 refusal (CONNACK, PUBACK or SUBACK reason code >= 0x80, e.g. 135 not authorized) raises `Refused` in the
  caller at once instead of leaving it waiting; a refused login also stops reconnecting, since retrying the
  same credentials cannot help.
- paho calls back on its own thread and, by default, lets an exception there kill that thread: every callback
  and handler here is guarded, and a failure is logged with its traceback (tests fail on such a log).
- After the first connect, paho reconnects with exponential backoff capped at `reconnect_max` seconds, and the
  subscriptions are made again. paho keeps unacknowledged publishes in memory only: the ledger is the outbox.
"""
from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from kiosk.config import broker as check_broker_url

log = logging.getLogger(__name__)
NOT_AUTHORIZED = 135
BAD_LOGIN = 134
_FINAL_CONNACK = {128, 130, 132, 133, BAD_LOGIN, NOT_AUTHORIZED, 138, 140}  # retrying the same CONNECT cannot help


class BrokerError(Exception):
    """Base of what goes wrong between us and the broker."""


class BadBrokerUrl(BrokerError, ValueError):
    """A broker URL we will not connect to: malformed, or plain mqtt:// off this machine."""


class TlsFailed(BrokerError):
    """The TLS handshake failed: most often the broker's certificate is not signed by the configured CA."""


class BrokerUnreachable(BrokerError):
    """No broker answered within the time allowed."""


class DeliveryTimeout(BrokerError):
    """A QoS 1 publish or a subscribe was not acknowledged in time (paho still holds it and will resend it)."""


class Refused(BrokerError):
    """The broker refused with an MQTT v5 reason code; `code` is the number (135: not authorized)."""

    def __init__(self, what: str, code: int, name: str) -> None:
        super().__init__(f"the broker refused {what}: {name} (reason code {code})")
        self.code, self.reason = code, name


class NotAuthorized(Refused):
    """Reason code 135 (or 134, bad user name or password): the broker's ACL or password file says no."""


@dataclass(frozen=True)
class Will:
    """The message the broker publishes for us when we vanish without a DISCONNECT."""

    topic: str
    payload: bytes
    retain: bool = True
    qos: int = 1


@dataclass(frozen=True)
class Settings:
    """How to reach and log in to the broker."""

    url: str
    client_id: str
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None  # None with mqtts: the system's CAs
    will: Will | None = None
    keepalive: int = 30
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    max_inflight: int = 100
    max_packet: int = 256 * 1024  # tells the broker not to send us anything bigger
    session_expiry: int = 0  # seconds the broker keeps our session while we are away; 0: a clean start each time


@dataclass(frozen=True)
class Endpoint:
    """Host, port and whether TLS is on, from a checked broker URL."""

    host: str
    port: int
    tls: bool


@dataclass(frozen=True)
class Inbound:
    """A message received, with the v5 request/response properties when it has them."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    response_topic: str | None = None
    correlation: bytes | None = None


Handler = Callable[[Inbound], None]


def endpoint(url: str) -> Endpoint:
    """The broker's endpoint; BadBrokerUrl says why a URL is refused (plain MQTT only to 127.0.0.1)."""
    try:
        check_broker_url(url)
    except ValueError as e:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is not None and parts.scheme == "mqtt" and parts.hostname:
            raise BadBrokerUrl(f"plain mqtt:// to {parts.hostname} refused: unencrypted MQTT is allowed only to "
                               f"127.0.0.1 (a broker on this machine); use mqtts://{parts.hostname}:8883") from None
        raise BadBrokerUrl(f"broker {url!r}: {e}") from None
    parts = urlsplit(url)
    return Endpoint(parts.hostname or "", parts.port or 0, parts.scheme == "mqtts")


def _no_delay(client: paho.Client, userdata: Any, sock: Any) -> None:
    """Send small packets at once: Nagle's delay would hold a spend request or an ack for tens of ms."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Delivery:
    """A publish on its way: `wait` returns once the broker took it, or raises why it did not."""

    def __init__(self, mid: int, topic: str) -> None:
        self.mid, self.topic = mid, topic
        self._done = threading.Event()
        self._code: ReasonCode | None = None

    def settle(self, code: ReasonCode) -> None:
        """The broker's answer (called from paho's thread)."""
        self._code = code
        self._done.set()

    def wait(self, timeout: float = 10.0) -> None:
        """Until the PUBACK: Refused (NotAuthorized for 135) if it carries a failure, DeliveryTimeout if none comes."""
        if not self._done.wait(timeout):
            raise DeliveryTimeout(f"no PUBACK for a message on {self.topic} within {timeout:g} s")
        if self._code is not None and self._code.is_failure:
            raise _refusal(f"a publish on {self.topic}", self._code)


class Connection:
    """A guarded paho client: connect, publish, subscribe with handlers, close."""

    def __init__(self, settings: Settings, on_state: Callable[[bool], None] | None = None) -> None:
        self.settings, self.endpoint, self.on_state = settings, endpoint(settings.url), on_state
        self.error: BrokerError | None = None  # a refusal that stopped reconnecting
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._connected = False
        self._early: dict[tuple[str, int], Any] = {}  # acks that beat their publish()/subscribe() back to us
        self._pending: dict[tuple[str, int], Any] = {}
        self._subscriptions: dict[str, int] = {}  # filter -> qos, made again on every connect
        self._tls: _TlsContext | None = None
        self._restoring = 0  # subscriptions made again after a connect and not yet granted
        self._client = self._make_client()

    def _make_client(self) -> paho.Client:
        s = self.settings
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=s.client_id, protocol=paho.MQTTv5)
        if self.endpoint.tls:
            self._tls = _TlsContext(ssl.PROTOCOL_TLS_CLIENT)
            if s.ca_file:
                self._tls.load_verify_locations(cafile=str(s.ca_file))
            else:
                self._tls.load_default_certs()
            client.tls_set_context(self._tls)
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        if s.will is not None:
            client.will_set(s.will.topic, s.will.payload, s.will.qos, s.will.retain)
        client.reconnect_delay_set(s.reconnect_min, s.reconnect_max)  # type: ignore[arg-type]
        client.max_inflight_messages_set(s.max_inflight)
        client.on_socket_open = self._guard(_no_delay)
        client.on_connect = self._guard(self._on_connect)
        client.on_disconnect = self._guard(self._on_disconnect)
        client.on_publish = self._guard(self._on_publish)
        client.on_subscribe = self._guard(self._on_subscribe)
        client.on_message = self._guard(self._on_stray)
        return client

    @property
    def connected(self) -> bool:
        """Whether the broker accepted us and the link is up now."""
        return self._connected

    def connect(self, timeout: float = 10.0) -> None:
        """Connect and start the network thread; retries an unreachable broker with backoff until `timeout`.

        TlsFailed and Refused come at once (another try cannot help), BrokerUnreachable after `timeout`.
        """
        s, ep = self.settings, self.endpoint
        deadline, delay = time.monotonic() + timeout, s.reconnect_min
        props = Properties(PacketTypes.CONNECT)
        props.MaximumPacketSize = s.max_packet
        if s.session_expiry:
            props.SessionExpiryInterval = s.session_expiry
        self._client.connect_timeout = max(0.5, min(5.0, timeout))
        while True:
            try:
                self._client.connect(ep.host, ep.port, s.keepalive, clean_start=s.session_expiry == 0,
                                     properties=props)
                break
            except ssl.SSLError as e:
                if self._tls is not None:
                    self._tls.close_last()  # paho leaves the socket of a failed handshake open
                reason = getattr(e, "verify_message", None) or e.reason or str(e)
                raise TlsFailed(f"TLS to {ep.host}:{ep.port} failed: {reason}; is the broker's certificate "
                                f"signed by the CA in {s.ca_file or 'the system store'}?") from None
            except OSError as e:
                if time.monotonic() + delay > deadline:
                    raise BrokerUnreachable(f"no broker at {ep.host}:{ep.port} within {timeout:g} s: {e}") from None
                time.sleep(delay)
                delay = min(delay * 2, s.reconnect_max)
        self._client.loop_start()
        with self._changed:
            self._changed.wait_for(lambda: self._connected or self.error is not None,
                                   max(0.0, deadline - time.monotonic()))
            error, ok = self.error, self._connected
        if not ok:
            self.close()
            raise error or BrokerUnreachable(f"no CONNACK from {ep.host}:{ep.port} within {timeout:g} s")

    def wait_connected(self, timeout: float) -> bool:
        """Whether the link is up within `timeout` s (after a loss, paho reconnects by itself)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._connected or self.error is not None, timeout) \
                and self._connected

    def close(self) -> None:
        """Disconnect cleanly (no last will) and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()
        if self._client._thread is None:  # stopped (close was not called on paho's own thread)
            # paho keeps loop_start's wake-up socket pair until its __del__, which the cycle collector may run after
            # the sockets' own finalizers: a ResourceWarning, an error under the tests' filterwarnings. Close it now.
            self._client._reset_sockets(sockpair_only=True)
        self._set_connected(False)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False,
                response_topic: str | None = None, correlation: bytes | None = None) -> Delivery:
        """Send a message; `wait()` on the result for the broker's PUBACK (QoS 1)."""
        props = None
        if response_topic is not None or correlation is not None:
            props = Properties(PacketTypes.PUBLISH)
            if response_topic is not None:
                props.ResponseTopic = response_topic
            if correlation is not None:
                props.CorrelationData = correlation
        info = self._client.publish(topic, payload, qos, retain, props)
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            raise BrokerError(f"publish on {topic} failed: {paho.error_string(info.rc)}")
        return self._claim("pub", info.mid, Delivery(info.mid, topic))

    def subscribe(self, topic_filter: str, handler: Handler, qos: int = 1, timeout: float = 10.0) -> None:
        """Call `handler` (guarded, on paho's thread) for each message matching the filter; Refused on a SUBACK failure."""
        self._client.message_callback_add(_delivered_as(topic_filter), self._guard_handler(handler, topic_filter))
        with self._lock:
            self._subscriptions[topic_filter] = qos
        if not self._connected:
            return  # made on connect; a refusal then is logged
        try:
            self._subscribe_now(topic_filter, qos).wait(timeout)
        except BrokerError:
            self.unsubscribe(topic_filter)
            raise

    def unsubscribe(self, topic_filter: str) -> None:
        """Stop receiving a filter's messages."""
        with self._lock:
            self._subscriptions.pop(topic_filter, None)
        self._client.message_callback_remove(_delivered_as(topic_filter))
        if self._connected:
            self._client.unsubscribe(topic_filter)

    def _subscribe_now(self, topic_filter: str, qos: int, background: bool = False) -> _Subscription:
        rc, mid = self._client.subscribe(topic_filter, options=SubscribeOptions(qos=qos))
        if rc != paho.MQTT_ERR_SUCCESS or mid is None:
            raise BrokerError(f"subscribe to {topic_filter} failed: {paho.error_string(rc)}")
        return self._claim("sub", mid, _Subscription(topic_filter, background))

    def _claim(self, kind: str, mid: int, waiter: Any) -> Any:
        """Register a waiter for an ack, or settle it now if the ack came first (paho's thread is quick)."""
        with self._lock:
            early = self._early.pop((kind, mid), None)
            if early is None:
                self._pending[(kind, mid)] = waiter
        if early is not None:
            waiter.settle(early)
        return waiter

    def _settle(self, kind: str, mid: int, result: Any) -> Any:
        with self._lock:
            waiter = self._pending.pop((kind, mid), None)
            if waiter is None:
                self._early[(kind, mid)] = result
        if waiter is not None:
            waiter.settle(result)
        return waiter

    # paho's callbacks, on its network thread:
    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, code: ReasonCode, props: Any) -> None:
        if code.is_failure:
            log.warning("broker %s:%s refused the connection: %s (%s)", self.endpoint.host, self.endpoint.port,
                        code.getName(), code.value)
            if code.value in _FINAL_CONNACK:
                with self._changed:
                    self.error = _refusal(f"the login of {self.settings.username or self.settings.client_id}", code)
                    self._changed.notify_all()
                client.disconnect()  # stops paho reconnecting with credentials that cannot work
            return
        with self._lock:
            subscriptions = dict(self._subscriptions)
            self._restoring = len(subscriptions)
        for topic_filter, qos in subscriptions.items():
            self._subscribe_now(topic_filter, qos, background=True)
        if not subscriptions:
            self._set_connected(True)  # else once the broker granted them again: "connected" means receiving

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, code: ReasonCode, props: Any) -> None:
        if self._connected:
            log.warning("lost the broker %s:%s: %s", self.endpoint.host, self.endpoint.port, code.getName())
        self._set_connected(False)

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int, code: ReasonCode, props: Any) -> None:
        self._settle("pub", mid, code)

    def _on_subscribe(self, client: paho.Client, userdata: Any, mid: int, codes: list[ReasonCode],
                      props: Any) -> None:
        waiter = self._settle("sub", mid, codes)
        if waiter is None:
            return
        if not waiter.background:
            return
        if any(c.is_failure for c in codes):  # nobody waits to be told: log it
            log.error("the broker refused the subscription to %s: %s", waiter.topic_filter,
                      ", ".join(c.getName() for c in codes))
        with self._lock:
            self._restoring -= 1
            restored = self._restoring == 0
        if restored:
            self._set_connected(True)

    def _on_stray(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        log.warning("dropped a message on %s: no handler for that topic", message.topic)

    def _set_connected(self, up: bool) -> None:
        with self._changed:
            changed, self._connected = self._connected != up, up
            self._changed.notify_all()
        if changed and self.on_state is not None:
            self._guard(self.on_state)(up)

    def _guard(self, callback: Callable[..., None]) -> Callable[..., None]:
        """A callback whose exception is logged with its traceback instead of killing paho's thread."""
        def guarded(*args: Any) -> None:
            try:
                callback(*args)
            except Exception:
                log.exception("MQTT callback %s failed", getattr(callback, "__name__", callback))
        return guarded

    def _guard_handler(self, handler: Handler, topic_filter: str) -> Callable[..., None]:
        def on_message(client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
            props = getattr(message, "properties", None)
            inbound = Inbound(message.topic, bytes(message.payload), message.qos, bool(message.retain),
                              getattr(props, "ResponseTopic", None), getattr(props, "CorrelationData", None))
            try:
                handler(inbound)
            except Exception:
                log.exception("the handler of %s failed on a message on %s", topic_filter, message.topic)
        return on_message


class _TlsContext(ssl.SSLContext):
    """A client context (verifying the host name) that remembers its last socket, for closing after a failed handshake."""

    _last: ssl.SSLSocket | None = None

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:  # type: ignore[override]
        self._last = super().wrap_socket(*args, **kwargs)
        return self._last

    def close_last(self) -> None:
        """Close the socket of the last handshake."""
        if self._last is not None:
            self._last.close()
            self._last = None


class _Subscription:
    """A SUBSCRIBE on its way: `wait` returns once the broker granted it."""

    def __init__(self, topic_filter: str, background: bool) -> None:
        self.topic_filter, self.background = topic_filter, background
        self._done = threading.Event()
        self._codes: list[ReasonCode] = []

    def settle(self, codes: list[ReasonCode]) -> None:
        self._codes = codes
        self._done.set()

    def wait(self, timeout: float) -> None:
        """Until the SUBACK; Refused if it refuses the filter."""
        if not self._done.wait(timeout):
            raise DeliveryTimeout(f"no SUBACK for {self.topic_filter} within {timeout:g} s")
        for code in self._codes:
            if code.is_failure:
                raise _refusal(f"the subscription to {self.topic_filter}", code)


def _delivered_as(topic_filter: str) -> str:
    """The filter that matches what a subscription delivers: a shared one's messages come without `$share/GROUP/`."""
    if topic_filter.startswith("$share/"):
        return topic_filter.split("/", 2)[2]
    return topic_filter


def _refusal(what: str, code: ReasonCode) -> Refused:
    """The error for a failure reason code: NotAuthorized for 134 and 135."""
    kind = NotAuthorized if code.value in (BAD_LOGIN, NOT_AUTHORIZED) else Refused
    return kind(what, code.value, code.getName())
