"""The MQTT source: paho-mqtt subscribes to the bound topics and hands messages to the loop.

Threads: paho runs its network loop in its own thread (``loop_start``) and owns
connecting, keep-alive and reconnecting with exponential back-off (``reconnect_min_s``
doubling up to ``reconnect_max_s``); it resubscribes on every (re)connect. Its callbacks
only append ``(topic, payload)`` to a bounded queue and wake the event loop; decoding,
validation and sessions stay on the event loop's thread. A full queue (the loop stalled
behind a flood) drops the oldest message and counts it: readings are "latest wins".

A broker that dies or restarts never touches the session: the music plays on with the
last values (until their ``silence`` time sends them to their defaults), and readings
resume when paho is back.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..errors import InvalidArgument
from ..logging_setup import Throttle, event
from .binding import Binding, Reading, Rejected
from .payload import PayloadError, decode_mqtt
from .router import InputRouter, SourceStats

log = logging.getLogger("cadenza.sources.mqtt")

QUEUE_LIMIT = 1024  # messages between paho's thread and the event loop


@dataclass(frozen=True)
class BrokerOptions:
    """Where and how to connect. Built from a URL by `parse_broker_url` plus options."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    tls_insecure: bool = False  # skip hostname checks (self-signed brokers on a LAN)
    client_id: str = ""
    keepalive_s: int = 30
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 30.0
    qos: int = 0

    @property
    def label(self) -> str:
        return f"mqtt{'s' if self.tls else ''}://{self.host}:{self.port}"


def parse_broker_url(url: str) -> BrokerOptions:
    """``mqtt://[user[:password]@]host[:port]`` (1883) or ``mqtts://...`` (TLS, 8883)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise InvalidArgument(f"broker URL {url!r} must start with mqtt:// or mqtts://",
                              field="broker")
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise InvalidArgument(f"broker URL {url!r} has a bad port", field="broker") from None
    if not parts.hostname:
        raise InvalidArgument(f"broker URL {url!r} has no host", field="broker")
    if parts.path not in ("", "/") or parts.query:
        raise InvalidArgument(f"broker URL {url!r}: no path or query expected", field="broker")
    return BrokerOptions(host=parts.hostname, port=port, tls=tls,
                         username=unquote(parts.username) if parts.username else None,
                         password=unquote(parts.password) if parts.password else None)


class MqttSource:
    """Subscribes to the bindings' topics on one broker; start()/stop() on the event loop."""

    def __init__(self, router: InputRouter, bindings: Iterable[Binding],
                 broker: BrokerOptions, name: str | None = None) -> None:
        self.router = router
        self.broker = broker
        self.name = name or f"mqtt:{broker.host}:{broker.port}"
        self.bindings: dict[str, Binding] = {}
        for b in bindings:
            if b.address in self.bindings:
                raise ValueError(f"MQTT topic {b.address} is bound twice")
            self.bindings[b.address] = b
        self.connected = threading.Event()
        self.connects = 0
        self.disconnects = 0
        self.failed_attempts = 0
        self._throttle = Throttle(30.0)
        self._inbox: collections.deque[tuple[str, bytes]] = collections.deque()
        self._lock = threading.Lock()
        self._scheduled = False
        self._dropped = 0  # counted under the lock in paho's thread, handed over in _drain
        router.sources.setdefault(self.name, SourceStats())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client = None

    @property
    def stats(self) -> SourceStats:
        return self.router.sources.setdefault(self.name, SourceStats())

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        import paho.mqtt.client as mqtt

        self._loop = asyncio.get_running_loop()
        b = self.broker
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=b.client_id,
                             reconnect_on_failure=True)
        if b.username:
            client.username_pw_set(b.username, b.password)
        if b.tls:
            client.tls_set(ca_certs=str(b.ca_file) if b.ca_file else None,
                           certfile=str(b.cert_file) if b.cert_file else None,
                           keyfile=str(b.key_file) if b.key_file else None,
                           cert_reqs=ssl.CERT_REQUIRED)
            client.tls_insecure_set(b.tls_insecure)
        client.reconnect_delay_set(b.reconnect_min_s, b.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_message = self._on_message
        self._client = client
        # connect_async + loop_start: the first connection is retried with back-off too,
        # so an installation booting before its broker just waits for it.
        client.connect_async(b.host, b.port, keepalive=b.keepalive_s)
        client.loop_start()
        event(log, logging.INFO, "MQTT connecting", source=self.name, broker=b.label,
              topics=sorted(self.bindings))

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        client.disconnect()
        # loop_stop joins paho's thread; keep the event loop free meanwhile.
        await asyncio.get_running_loop().run_in_executor(None, client.loop_stop)

    # ------------------------------------------------------- paho's thread (callbacks)
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:  # credentials or ACLs: retrying will not fix it, say so
            if self._throttle.allow("refused") is not None:
                event(log, logging.ERROR, "MQTT broker refused the connection", source=self.name,
                      broker=self.broker.label, reason=str(reason_code))
            return
        self.connects += 1
        self.failed_attempts = 0
        for topic in self.bindings:
            client.subscribe(topic, qos=self.broker.qos)
        self.connected.set()
        event(log, logging.INFO, "MQTT connected", source=self.name, broker=self.broker.label,
              connects=self.connects)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if self._client is None:
            return  # our own stop()
        if was:
            self.disconnects += 1
            event(log, logging.WARNING, "MQTT connection lost; reconnecting with back-off",
                  source=self.name, broker=self.broker.label, reason=str(reason_code),
                  retry_min_s=self.broker.reconnect_min_s, retry_max_s=self.broker.reconnect_max_s)

    def _on_connect_fail(self, client, userdata) -> None:
        self.failed_attempts += 1
        held = self._throttle.allow("unreachable")  # paho's thread only
        if held is not None:
            event(log, logging.WARNING, "MQTT broker unreachable; retrying with back-off",
                  source=self.name, broker=self.broker.label, attempts=self.failed_attempts)

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            if len(self._inbox) >= QUEUE_LIMIT:
                self._inbox.popleft()
                self._dropped += 1
            self._inbox.append((message.topic, bytes(message.payload)))
            if self._scheduled:
                return
            self._scheduled = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._drain)

    # --------------------------------------------------------- the event loop's thread
    def _drain(self) -> None:
        with self._lock:
            batch = list(self._inbox)
            self._inbox.clear()
            self._scheduled = False
            dropped, self._dropped = self._dropped, 0
        if dropped:
            self.stats.dropped += dropped
            event(log, logging.WARNING, "MQTT messages dropped: the event loop fell behind",
                  source=self.name, dropped=dropped)
        for topic, payload in batch:
            self.router.handle(self.name, self.decode(topic, payload))

    def decode(self, topic: str, payload: bytes) -> Reading | Rejected:
        """Pure: one message -> a reading or a rejection."""
        binding = self.bindings.get(topic)
        if binding is None:
            return Rejected("no input is bound to this topic", address=topic)
        try:
            return Reading(binding, decode_mqtt(payload, binding.field))
        except PayloadError as exc:
            return Rejected(str(exc), binding=binding, address=topic)
