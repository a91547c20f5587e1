"""The MQTT link: the only module that imports paho-mqtt (2.x API).

One thread owns the paho client (paho is not thread-safe: eclipse-paho/paho.mqtt.python
#358). Other threads hand it publications through a queue and a wake-up socket; it runs
paho's socket loop (``loop_read``/``loop_write``/``loop_misc``) itself, so a publication
leaves within a fraction of a millisecond, with ``TCP_NODELAY`` set (DEPLOYMENT.md §1:
without it a round trip can take 40 ms).

- MQTT 5 by default (message expiry, reason codes), 3.1.1 selectable.
- Reconnects with exponential backoff; subscribes again on every connect.
- **Nothing is queued while disconnected**: :meth:`MqttLink.publish` returns ``False``
  and the publication is dropped and counted. Every connection uses a fresh paho client,
  so paho's own in-memory queue cannot replay an old command after a reconnect either.
- The last will (for example the controller's status marked ``offline``, retained) is
  registered before each connect; the broker sends it when the connection is lost.
- TLS (CA file, optional client certificate) and username/password.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from select import select
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger("cooling.mqtt")

PROTOCOLS = {"5": paho.MQTTv5, "3.1.1": paho.MQTTv311}


@dataclass(frozen=True)
class BrokerConfig:
    """How to reach the broker."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = ""
    protocol: str = "5"  # "5" or "3.1.1"
    client_id: str = ""
    keepalive_s: int = 30
    tls: bool = False  # TLS with the system's CAs (or with tls_ca)
    tls_ca: str = ""  # a CA file (turns TLS on)
    tls_cert: str = ""
    tls_key: str = ""
    reconnect_min_s: float = 0.2
    reconnect_max_s: float = 30.0

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"broker protocol {self.protocol!r}; allowed: {', '.join(PROTOCOLS)}")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"broker port must be in 1..65535 (got {self.port})")
        if not 5 <= self.keepalive_s <= 3600:
            raise ValueError(f"broker keepalive_s must be in 5..3600 (got {self.keepalive_s})")
        if not 0 < self.reconnect_min_s <= self.reconnect_max_s:
            raise ValueError("broker reconnect_min_s must be > 0 and <= reconnect_max_s")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("broker tls_cert and tls_key go together")
        for key in ("tls_ca", "tls_cert", "tls_key"):
            path = getattr(self, key)
            if path and not Path(path).is_file():
                raise ValueError(f"broker {key}: {path} not found")


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


class MqttLink:
    """A connection that keeps itself up; thread-safe ``publish``.

    ``on_message(topic, payload)`` and ``on_connect()`` run on the link's thread: they
    must not block (hand work to another thread through a queue).
    """

    def __init__(
        self,
        config: BrokerConfig,
        subscriptions: list[tuple[str, int]],
        on_message: Callable[[str, bytes], None],
        on_connect: Callable[[], None] | None = None,
        will: Callable[[], Will] | Will | None = None,
        name: str = "mqtt",
    ):
        self.config = config
        self.subscriptions = list(subscriptions)
        self.on_message = on_message
        self.on_connect = on_connect
        self.will = will
        self.name = name
        self.connected = threading.Event()
        self.stats = dict.fromkeys(("connects", "connection_losses", "published", "dropped",
                                    "refused_by_broker", "publish_refused",
                                    "subscribe_refused"), 0)  # fmt: skip
        self._stats_lock = threading.Lock()  # the link thread and publishers both count
        self.last_error: str | None = None
        #: (generation, topic, payload, qos, retain, expiry_s) of each publication handed over
        self._outbox: queue.SimpleQueue[tuple[int, str, bytes, int, bool, float | None]] = (
            queue.SimpleQueue()
        )
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        #: counts connections; a publication handed over on an earlier one is never sent
        self.generation = 0
        self._delay = config.reconnect_min_s
        self._connected_at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._client: paho.Client | None = None

    # -- any thread ------------------------------------------------------------------------
    def start(self) -> MqttLink:
        self._thread.start()
        return self

    def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int = 1,
        retain: bool = False,
        expiry_s: float | None = None,
    ) -> bool:
        """Hand a publication to the link; ``False`` (dropped) while disconnected."""
        if not self.connected.is_set():
            self._count("dropped")
            return False
        self._outbox.put((self.generation, topic, payload, qos, retain, expiry_s))
        self._wake()
        return True

    def _count(self, key: str, n: int = 1) -> None:
        with self._stats_lock:
            self.stats[key] += n

    def _refused(self, key: str, what: str, n: int = 1) -> None:
        """The broker said no (CONNACK, SUBACK or PUBACK failure): count, keep, log."""
        self._count(key, n)
        self.last_error = f"broker refused {what}"
        log.warning("%s: %s", self.name, self.last_error)

    def stop(
        self, last: Sequence[tuple[str, bytes, int, bool]] = (), timeout_s: float = 5.0
    ) -> None:
        """Publish ``last`` (e.g. the status marked offline), disconnect cleanly, join."""
        for topic, payload, qos, retain in last:
            self.publish(topic, payload, qos, retain)
        self._stop.set()
        self._wake()
        self._thread.join(timeout_s)
        self._wake_r.close()
        self._wake_w.close()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:  # the buffer is full (already awake) or the link is stopped
            pass

    # -- the link's thread -------------------------------------------------------------------
    def _new_client(self) -> paho.Client:
        c = self.config
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=c.client_id,
            protocol=PROTOCOLS[c.protocol],
            reconnect_on_failure=False,
        )
        if c.username:
            client.username_pw_set(c.username, c.password or None)
        if c.tls or c.tls_ca:
            client.tls_set(ca_certs=c.tls_ca or None, certfile=c.tls_cert or None,
                           keyfile=c.tls_key or None)  # fmt: skip
        will = self.will() if callable(self.will) else self.will
        if will is not None:
            client.will_set(will.topic, will.payload, will.qos, will.retain)
        client.max_inflight_messages_set(100)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        return client

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        # mosquitto grants subscriptions outside the read ACL and filters at delivery
        # (DEPLOYMENT.md §3); an explicit refusal is still worth saying out loud
        refused = [str(rc) for rc in reason_codes if rc.is_failure]
        if refused:
            self._refused(
                "subscribe_refused", f"a subscription: {', '.join(refused)}", len(refused)
            )

    def _on_publish(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        # MQTT 5 QoS 1: a PUBACK 135 is the ACL refusing it (DEPLOYMENT.md §3)
        if reason_code.is_failure:
            self._refused("publish_refused", f"a publication: {reason_code}")

    def _on_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._refused("refused_by_broker", f"the connection: {reason_code}")
            return
        if self.subscriptions:
            client.subscribe(self.subscriptions)
        self._count("connects")
        self.generation += 1
        self.last_error = None
        self.connected.set()
        if self.on_connect is not None:
            try:
                self.on_connect()
            except Exception:  # a callback bug must not kill the link
                log.exception("%s: on_connect callback failed", self.name)

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self.connected.is_set() and not self._stop.is_set():
            self._count("connection_losses")
            log.warning("%s: connection lost (%s)", self.name, reason_code)
        self.connected.clear()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            # paho types payload as bytes | bytearray (shared with outgoing messages); a
            # received one is always bytes (decoded with struct.unpack)
            self.on_message(message.topic, message.payload)  # type: ignore[arg-type]
        except Exception:  # never let a handler bug kill the link
            log.exception("%s: message handler failed on %s", self.name, message.topic)

    def _connect(self) -> paho.Client | None:
        c = self.config
        try:
            client = self._new_client()
            client.connect(c.host, c.port, c.keepalive_s)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            self.last_error = f"cannot reach {c.host}:{c.port}: {exc}"
            return None
        sock = client.socket()
        if sock is not None and hasattr(sock, "setsockopt"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return client

    def _drain(self, client: paho.Client) -> None:
        while True:
            try:
                generation, topic, payload, qos, retain, expiry_s = self._outbox.get_nowait()
            except queue.Empty:
                return
            if not self.connected.is_set() or generation != self.generation:  # an older link
                self._count("dropped")
                continue
            props = None
            if expiry_s is not None and self.config.protocol == "5":
                # paho's Properties has no type annotations
                props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                props.MessageExpiryInterval = max(1, int(expiry_s))
            info = client.publish(topic, payload, qos, retain, properties=props)
            if info.rc == paho.MQTT_ERR_SUCCESS:
                self._count("published")
            else:
                self._count("dropped")

    def _run(self) -> None:
        self._delay = self.config.reconnect_min_s
        client: paho.Client | None = None
        while not self._stop.is_set():
            try:
                client = self._iterate(client)
            except Exception as exc:  # never let the link die: log, drop, back off, retry
                log.exception("%s: link error", self.name)
                self.last_error = f"link error: {type(exc).__name__}: {exc}"
                self._lost(client)
                client = None
        if client is not None:
            try:
                self._drain(client)
                for _ in range(20):  # let the last publications out
                    if not client.want_write():
                        break
                    client.loop_write()
                client.disconnect()
                client.loop_write()
            except Exception:  # closing: nothing more to do
                log.debug("%s: error while closing", self.name, exc_info=True)
        self.connected.clear()

    def _lost(self, client: paho.Client | None) -> None:
        """The connection is gone: nothing queued survives it; wait before the next try."""
        if self.connected.is_set() and not self._stop.is_set():
            self._count("connection_losses")
        self.connected.clear()
        if client is not None:
            try:
                client.socket() and client.disconnect()
            except Exception:  # it is gone either way
                pass
        self._drop_outbox()
        self._stop.wait(self._delay)
        self._delay = min(2 * self._delay, self.config.reconnect_max_s)
        return None

    def _iterate(self, client: paho.Client | None) -> paho.Client | None:
        if client is None:
            client = self._connect()
            if client is None:
                self._lost(None)
                return None
            self._connected_at = time.monotonic()
        sock = client.socket()
        if sock is None:  # paho closed it: connection lost or refused
            self._lost(None)
            return None
        if self.connected.is_set() and time.monotonic() - self._connected_at > 5.0:
            self._delay = self.config.reconnect_min_s  # a connection that held: reset backoff
        try:
            writing = [sock] if client.want_write() else []
            r, _, _ = select([sock, self._wake_r], writing, [], 0.5)
        except (OSError, ValueError):
            r = []
        if self._wake_r in r:
            try:
                while self._wake_r.recv(4096):
                    pass
            except (BlockingIOError, OSError):
                pass
        rc = paho.MQTT_ERR_SUCCESS
        if sock in r or (hasattr(sock, "pending") and sock.pending()):  # TLS-buffered bytes
            rc = client.loop_read()
        if rc == paho.MQTT_ERR_SUCCESS:
            self._drain(client)
            if client.want_write():
                rc = client.loop_write()
        if rc == paho.MQTT_ERR_SUCCESS:
            rc = client.loop_misc()
        if rc != paho.MQTT_ERR_SUCCESS or client.socket() is None:
            self._lost(client)
            return None
        return client

    def _drop_outbox(self) -> None:
        while True:
            try:
                self._outbox.get_nowait()
            except queue.Empty:
                return
            self._count("dropped")
