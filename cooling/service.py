"""The deployed controller: telemetry over MQTT → runtime (policy + shield) → commands.

    cooling shadow --config CONFIG     recommends and logs; never commands
    cooling run --config CONFIG        commands the shielded setpoints (active mode)

Threads: the MQTT link's thread only queues what arrives; the controller's thread parses
and validates each message, steps the :class:`~cooling.control.runtime.Runtime`,
publishes the command (active mode, through the shield: the runtime's ``command`` is the
only source), the recommendation, the status and the heartbeat, and hands the interval's
points to the InfluxDB spool.

Clock: every payload's ``ts`` is the plant's time. At ``time_scale`` 1 that is the wall
clock. A virtual plant run faster than real time (``cooling virtual-plant --speed X``)
keeps its own clock; a controller with ``time_scale: X`` anchors its clock at the first
telemetry it accepts and then runs X times faster than the wall clock, so staleness,
command expiry and the shield's rate checks stay in plant seconds.
"""

from __future__ import annotations

import calendar
import logging
import math
import os
import queue
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from cooling import __version__
from cooling.control.baselines import make
from cooling.control.policy import load_policy
from cooling.control.runtime import Override, Runtime, StepRecord
from cooling.control.safety import ShieldConfig
from cooling.io import messages as msg
from cooling.io.influx import InfluxConfig, InfluxSink, encode, ensure_database
from cooling.io.mqtt import BrokerConfig, MqttLink, Will
from cooling.plant import plant as plantmod
from cooling.plant.carbon import intensity_at, load_carbon
from cooling.plant.weather import UTC_OFFSET_RANGE_H, load_weather
from cooling.setpoints import NAMES, site_names
from cooling.spec import SiteSpec, load_site, read_yaml

log = logging.getLogger("cooling.service")

HOURS_PER_YEAR = 8760
BASELINE_POLICIES = ("fixed", "rules", "oracle")


class ConfigError(ValueError):
    """A controller config that cannot run: says which key and what is allowed."""


# -- the config ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ControllerConfig:
    """Timing and behaviour of the controller (plant seconds unless named wall)."""

    command_ttl_s: float = 0.0  # 0: one control interval
    stale_after_s: float = 0.0  # 0: two control intervals
    heartbeat_wall_s: float = 5.0
    time_scale: float = 1.0
    fallback: str = "rules"  # "rules" or "none"
    instance: str = "controller-1"
    policy_timeout_s: float = 2.0
    utc_offset_h: float | None = None  # the site's standard time − UTC; None: its weather file's
    # how much worse than the site spec the shield's model takes the plant (its
    # ShieldConfig.robust_fraction): the trade-off between the savings a policy keeps and
    # the margin against a plant off its spec (docs/RESULTS.md, "Behind the shield")
    shield_robust_fraction: float = 0.1
    # how the shield pulls back a proposal it predicts too hot (ShieldConfig.pull_back):
    # "cheapest" or "together" (docs/RESULTS.md, "Behind the shield")
    shield_pull_back: str = "cheapest"

    def __post_init__(self) -> None:
        if not 0.1 <= self.heartbeat_wall_s <= 300:
            raise ConfigError(
                f"controller.heartbeat_wall_s must be in 0.1..300 (got {self.heartbeat_wall_s})"
            )
        if not 1.0 <= self.time_scale <= 100_000:
            raise ConfigError(f"controller.time_scale must be in 1..100000 (got {self.time_scale})")
        if self.fallback not in ("rules", "none"):
            raise ConfigError(
                f"controller.fallback must be 'rules' or 'none' (got {self.fallback!r})"
            )
        if self.command_ttl_s < 0 or self.stale_after_s < 0:
            raise ConfigError("controller.command_ttl_s and stale_after_s must be >= 0")
        try:  # the shield checks its own tuning
            ShieldConfig(robust_fraction=self.shield_robust_fraction,
                         pull_back=self.shield_pull_back)  # fmt: skip
        except ValueError as exc:
            raise ConfigError(f"controller.shield_{exc}") from None
        lo, hi = UTC_OFFSET_RANGE_H
        if self.utc_offset_h is not None and not (
            isinstance(self.utc_offset_h, int | float)
            and not isinstance(self.utc_offset_h, bool)
            and lo <= self.utc_offset_h <= hi
        ):
            raise ConfigError(
                f"controller.utc_offset_h must be a number of hours in {lo:g}..{hi:g}, the "
                f"site's local standard time minus UTC, e.g. -5 (got {self.utc_offset_h!r})"
            )


@dataclass(frozen=True)
class ServiceConfig:
    site: str
    policy: str
    mode: str = "shadow"
    broker: BrokerConfig = field(default_factory=BrokerConfig)
    influx: InfluxConfig | None = None
    controller: ControllerConfig = field(default_factory=ControllerConfig)
    topic_site: str = ""  # the site id in topics; default: the spec's name
    prefix: str = msg.PREFIX


def _secret(section: dict, key: str, where: str) -> str:
    """``key`` itself, or ``key_env`` (an environment variable), or ``key_file``."""
    given = [k for k in (key, f"{key}_env", f"{key}_file") if k in section]
    if len(given) > 1:
        raise ConfigError(f"{where}: give one of {', '.join(given)}, not several")
    if f"{key}_env" in section:
        var = section.pop(f"{key}_env")
        if var not in os.environ:
            raise ConfigError(f"{where}.{key}_env: environment variable {var} is not set")
        return os.environ[var]
    if f"{key}_file" in section:
        path = Path(section.pop(f"{key}_file")).expanduser()
        if not path.is_file():
            raise ConfigError(f"{where}.{key}_file: {path} not found")
        return path.read_text().strip()
    return str(section.pop(key, ""))


def _section(cls: type, data: Any, where: str, secrets: tuple[str, ...] = ()) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a mapping (got {type(data).__name__})")
    data = dict(data)
    values = {s: _secret(data, s, where) for s in secrets if any(k.startswith(s) for k in data)}
    allowed = [f.name for f in fields(cls)]
    for key in data:
        if key not in allowed:
            extra = [f"{s}_env, {s}_file" for s in secrets]
            raise ConfigError(
                f"{where}: unknown key {key!r}; allowed: {', '.join(allowed + extra)}"
            )
    values.update(data)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_config(path: str | Path, mode: str | None = None) -> ServiceConfig:
    """Read a controller config (YAML); secrets from ``*_env`` or ``*_file`` keys."""
    path = Path(path)
    data = read_yaml(path, ConfigError, "controller config")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping of settings")
    data = dict(data)
    allowed = ("site", "policy", "mode", "broker", "influx", "controller", "topic_site", "prefix")
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{path}: unknown key {key!r}; allowed: {', '.join(allowed)}")
    for key in ("site", "policy"):
        if not isinstance(data.get(key), str):
            raise ConfigError(f"{path}: {key} is required (a string)")
    where = str(path)
    policy = data["policy"]
    if policy not in BASELINE_POLICIES and not Path(policy).is_absolute():
        policy = (
            str((path.parent / policy).resolve()) if (path.parent / policy).exists() else policy
        )
    cfg = ServiceConfig(
        site=data["site"],
        policy=policy,
        mode=mode or data.get("mode", "shadow"),
        broker=_section(BrokerConfig, data.get("broker"), f"{where}: broker", ("password",)),
        influx=(
            _section(InfluxConfig, data["influx"], f"{where}: influx", ("password", "token"))
            if data.get("influx")
            else None
        ),
        controller=_section(ControllerConfig, data.get("controller"), f"{where}: controller"),
        topic_site=data.get("topic_site", ""),
        prefix=data.get("prefix", msg.PREFIX),
    )
    if cfg.mode not in ("shadow", "active"):
        raise ConfigError(f"{path}: mode must be 'shadow' or 'active' (got {cfg.mode!r})")
    return cfg


# -- helpers ---------------------------------------------------------------------------------
def readings_of(spec: SiteSpec) -> frozenset[str]:
    """The telemetry readings a plant of this site may report."""
    names = []
    for n in plantmod.TELEMETRY_NAMES:
        if n.startswith("zone"):
            z = int(n[4 : n.index("_")])
            if z >= len(spec.zones):
                continue
        if msg.unit_range(n) is not None:
            names.append(n)
    return frozenset(names)


def hour_of_year(ts_ms: float, utc_offset_h: float = 0.0) -> float:
    """Hour of the year of an epoch-ms (UTC) timestamp in the site's local standard time
    (UTC + ``utc_offset_h``, no daylight saving), the index of the site's hourly traces.

    The traces are a typical year of 8760 hours with no 29 February, so in a leap year
    29 February reads 28 February's rows again and the rest of the year keeps its dates.
    """
    local_s = ts_ms / 1000.0 + utc_offset_h * 3600.0
    t = time.gmtime(local_s)
    day = t.tm_yday - 1  # 0 = 1 January
    if calendar.isleap(t.tm_year) and day >= 59:  # 29 February and after
        day -= 1
    midnight = calendar.timegm((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0))
    return (day * 24.0 + (local_s - midnight) / 3600.0) % HOURS_PER_YEAR


def site_utc_offset_h(spec: SiteSpec, setting: str = "controller.utc_offset_h") -> float:
    """The site's local standard time − UTC [h], from its weather file."""
    offset = load_weather(spec.path(spec.weather)).utc_offset_h
    if offset is None:
        raise ConfigError(
            f"site {spec.name}: its weather file {spec.weather} does not give its UTC offset "
            f"(an EPW LOCATION line or a '# utc_offset_h: -5' comment); set {setting}"
        )
    return offset


class PlantClock:
    """The plant's time [ms]: the wall clock, or anchored and scaled (virtual plants).

    A scaled clock anchors at the receipt of the first telemetry that parses, and anchors
    again after :data:`REANCHOR_AFTER` stale or future messages in a row (a restarted
    virtual plant); at scale 1 it is the wall clock and never moves.
    """

    REANCHOR_AFTER = 3

    def __init__(self, time_scale: float = 1.0):
        self.scale = time_scale
        self.anchor: tuple[float, float] | None = None  # (plant ms, wall s)
        self.misses = 0

    def now_ms(self) -> int | None:
        if self.scale == 1.0:
            return int(time.time() * 1000)
        if self.anchor is None:
            return None
        plant_ms, wall = self.anchor
        return int(plant_ms + (time.time() - wall) * 1000.0 * self.scale)

    def anchor_at(self, plant_ms: int, wall_s: float) -> None:
        if self.scale != 1.0 and self.anchor is None:
            self.anchor = (float(plant_ms), wall_s)

    def missed(self) -> None:
        """A stale or future message: after a few in a row, anchor again."""
        self.misses += 1
        if self.scale != 1.0 and self.misses >= self.REANCHOR_AFTER:
            self.anchor, self.misses = None, 0

    def hit(self) -> None:
        self.misses = 0


# -- the controller -------------------------------------------------------------------------------
class Controller:
    """One site's deployed controller: run :meth:`run` (blocks) or :meth:`start` (thread)."""

    def __init__(self, config: ServiceConfig, spec: SiteSpec | None = None):
        self.config = config
        self.spec = spec or load_site(config.site)
        self.site_id = config.topic_site or self.spec.name
        cc = config.controller
        self.interval_s = self.spec.interval_s
        self.ttl_s = cc.command_ttl_s or self.interval_s
        self.stale_s = cc.stale_after_s or 2 * self.interval_s
        self.readings = readings_of(self.spec)
        self.exposed = site_names(self.spec)
        self.model_name = (
            config.policy
            if config.policy in BASELINE_POLICIES
            else (Path(config.policy).parent.name or Path(config.policy).name)
        )
        self._hours = np.zeros(1)
        if config.policy in BASELINE_POLICIES:
            base = make(config.policy, self.spec)
            base.reset(1)
            policy = base
        else:
            ctrl = load_policy(config.policy, self.spec)  # PolicyError names the file

            def policy(telemetry):
                return ctrl(telemetry, hours=self._hours)

        shield = ShieldConfig(stale_after_s=self.stale_s, fallback=cc.fallback,
                              robust_fraction=float(cc.shield_robust_fraction),
                              pull_back=cc.shield_pull_back)  # fmt: skip
        self.runtime = Runtime(self.spec, policy, mode=config.mode, shield_config=shield,
                               policy_timeout_s=cc.policy_timeout_s,
                               follow_plant_setpoints=True)  # fmt: skip
        self.clock = PlantClock(cc.time_scale)
        self.seq = 0
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.counters: Counter[str] = Counter()
        self._saved_kw_sum = 0.0  # predicted kW saved by following the recommendations
        self.rejected: Counter[str] = Counter()
        self.acks: Counter[str] = Counter()
        self.pending: dict[str, float] = {}  # cmd_id → wall time sent
        self.ack_latency_ms: deque[float] = deque(maxlen=10_000)
        self.telemetry_seq = msg.SeqTracker()
        self.override_seq = msg.SeqTracker()
        self.last_telemetry_ms: int | None = None
        self.last_step_ms: int | None = None
        # one step per control interval, give or take 10 % of jitter in the bridge's clock:
        # telemetry more often than that must not step (and ramp) the setpoints faster
        self.min_gap_ms = int(0.9 * self.interval_s * 1000)
        self.commanding = False  # the last step sent a command (the plant follows us)
        self.allow_active = config.mode == "active"  # `cooling shadow` never commands
        self.state_reason = "starting"
        self.events: deque[tuple[int, bool, str]] = deque(maxlen=1000)  # state changes
        self.fallback = False
        self.records: deque[tuple[int, StepRecord, dict]] = deque(maxlen=10_000)
        self._pue_window: deque[tuple[int, float, float]] = deque()
        self.carbon = load_carbon(self.spec.path(self.spec.carbon))
        self.utc_offset_h = (
            cc.utc_offset_h if cc.utc_offset_h is not None else site_utc_offset_h(self.spec)
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._was_connected = False
        t = lambda kind: msg.topic(self.site_id, kind, config.prefix)  # noqa: E731
        kinds = ("telemetry", "cmd/set", "cmd/ack", "reco", "status/controller",
                 "status/heartbeat", "override")  # fmt: skip
        self.topics = {k: t(k) for k in kinds}
        self.sink = None
        if config.influx is not None:
            if config.influx.transport == "v1":
                ensure_database(config.influx)
            self.sink = InfluxSink(config.influx)
        subs = [(self.topics["telemetry"], 1), (self.topics["cmd/ack"], 1),
                (self.topics["override"], 1)]  # fmt: skip
        self.link = MqttLink(config.broker, subs, self._on_message, self._on_connect,
                             will=self._will, name=f"mqtt-{self.site_id}")  # fmt: skip

    # -- status ----------------------------------------------------------------------------
    def _status(self, state: str = "online") -> bytes:
        return msg.encode({
            "ts": self._now_ms(), "seq": self._next_seq(), "state": state,
            "mode": self.runtime.mode, "version": __version__, "site": self.site_id,
            "instance": self.config.controller.instance, "model": self.model_name,
            "fallback": self.fallback, "reason": self.state_reason,
            "counters": self.stats(),
        })  # fmt: skip

    def _will(self) -> Will:
        """The last will: fixed fields only (built on the link's thread)."""
        payload = msg.encode({"ts": int(time.time() * 1000), "seq": 0, "state": "offline",
                              "mode": self.config.mode, "version": __version__,
                              "site": self.site_id, "instance": self.config.controller.instance,
                              "reason": "connection lost"})  # fmt: skip
        return Will(self.topics["status/controller"], payload, 1, True)

    def _now_ms(self) -> int:
        now = self.clock.now_ms()
        return now if now is not None else int(time.time() * 1000)

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def stats(self) -> dict:
        lat = sorted(self.ack_latency_ms)
        return {
            "accepted": self.counters["telemetry"],
            "steps": self.counters["steps"],
            "rejected": dict(self.rejected),
            "rejected_total": sum(self.rejected.values()),
            "commands_sent": self.counters["commands_sent"],
            "commands_dropped": self.counters["commands_dropped"],
            "acks": dict(self.acks),
            "unacked": len(self.pending),
            "ack_timeouts": self.counters["ack_timeouts"],
            "internal_errors": self.counters["internal_errors"],
            "overrides": self.counters["overrides"],
            "broker_losses": self.link.stats["connection_losses"] if hasattr(self, "link") else 0,
            "ack_latency_ms_p50": lat[len(lat) // 2] if lat else None,
            "mode": self.runtime.mode,
            "fallback": self.fallback,
            "predicted_savings_kw_mean": self._saved_kw_sum / self.counters["predictions"]
            if self.counters["predictions"]
            else None,
            "influx": self.sink.stats() if self.sink is not None else None,
        }

    # -- the link's thread: queue only ----------------------------------------------------------
    def _on_message(self, topic: str, payload: bytes) -> None:
        # the connection it came on: telemetry from before a reconnect is never acted on
        self.inbox.put((topic, payload, (time.time(), self.link.generation)))

    def _on_connect(self) -> None:
        self.inbox.put(("__connected__", b"", (time.time(), self.link.generation)))

    # -- the controller's thread -------------------------------------------------------------------
    def start(self) -> Controller:
        self._thread = threading.Thread(target=self.run, name="controller", daemon=True)
        self._thread.start()
        return self

    def stop_soon(self) -> None:
        """Ask the loop to end (from a signal handler or another thread)."""
        self._stop.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def run(self) -> None:
        self.link.start()
        next_beat = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    topic, payload, received = self.inbox.get(timeout=0.05)
                except queue.Empty:
                    topic = None
                if topic == "__connected__":
                    self._connected()
                elif topic is not None:
                    self._handle(topic, payload, received)
                self._watch()
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + self.config.controller.heartbeat_wall_s
                    self._heartbeat()
        finally:
            offline = self._status("offline")
            self.link.stop([(self.topics["status/controller"], offline, 1, True)])
            self.runtime.close()
            if self.sink is not None:
                self.sink.close()

    def _connected(self) -> None:
        self._was_connected = True
        if self.fallback and self.state_reason.startswith("broker unreachable"):
            # still in fallback: control resumes on the first telemetry of this connection
            self._set_state(True, "broker reachable again: waiting for fresh telemetry",
                            "BROKER_LOST")  # fmt: skip
        self.link.publish(self.topics["status/controller"], self._status(), 1, True)

    def _set_state(self, fallback: bool, reason: str, rule: str = "") -> None:
        changed = fallback != self.fallback or reason != self.state_reason
        # what the heartbeat says of who is in control, before and after
        was_commanding = self.commanding and not self.fallback
        self.fallback, self.state_reason = fallback, reason
        if changed:
            self.events.append((self._now_ms(), fallback, reason))
            log.warning("%s: %s", self.site_id, reason) if fallback else log.info("%s", reason)
            ts = self._now_ms()
            if fallback and self.sink is not None:
                self._write([encode("safety_event",
                                    {"site": self.site_id, "rule": rule, "mode": self.runtime.mode},
                                    {"count": 1.0, "message": reason}, ts)])  # fmt: skip
            if fallback and was_commanding:
                # the plant hears at once that we no longer command, not at the next beat
                self.commanding = False
                self._heartbeat()  # (it publishes the status as well)
            else:
                self.link.publish(self.topics["status/controller"], self._status(), 1, True)

    def _watch(self) -> None:
        """Broker loss and telemetry silence: fall back (no command leaves) and say why;
        commands never acknowledged within their time to live are counted."""
        if self.pending:
            ttl_wall = max(1.0, self.ttl_s / self.config.controller.time_scale)
            oldest = next(iter(self.pending))
            if time.perf_counter() - self.pending[oldest] > ttl_wall:
                self.pending.pop(oldest)
                self.counters["ack_timeouts"] += 1
                log.warning("%s: command %s never acknowledged", self.site_id, oldest)
        if self._was_connected and not self.link.connected.is_set():
            if not (self.fallback and self.state_reason.startswith("broker")):
                self.pending.clear()  # commands in flight are void: fresh ones after reconnect
                self._set_state(True, "broker unreachable: no commands; the plant's own "
                                "controls hold (heartbeats stop)", "BROKER_LOST")  # fmt: skip
            return
        now = self.clock.now_ms()
        if self.last_telemetry_ms is not None and now is not None:
            age_s = (now - self.last_telemetry_ms) / 1000.0
            if age_s > self.stale_s and not self.fallback:
                why = f"no valid telemetry for {age_s:.0f} s (limit {self.stale_s:g} s)"
                self._set_state(True, why, "TELEMETRY_SILENT")

    def _heartbeat(self) -> None:
        if self.sink is not None and "database not found" in str(self.sink.stats()["last_error"]):
            ensure_database(self.config.influx)  # InfluxDB was down when we started
        now = self.clock.now_ms()
        age = (now - self.last_telemetry_ms) / 1000.0 if now and self.last_telemetry_ms else None
        last = self.records[-1][1].loop_ms if self.records else None
        beat = {"ts": self._now_ms(), "seq": self._next_seq(), "loop_ms": last,
                "telemetry_age_s": age, "mode": self.runtime.mode,
                "fallback": self.fallback,
                "commanding": self.commanding and not self.fallback}  # fmt: skip
        self.link.publish(self.topics["status/heartbeat"], msg.encode(beat), 0, False)
        self.link.publish(self.topics["status/controller"], self._status(), 1, True)

    def _reject(self, kind: str, err: msg.MessageError) -> None:
        self.rejected[f"{kind}:{err.code}"] += 1
        log.warning("%s: rejected %s message (%s): %s", self.site_id, kind, err.code, err)

    def _handle(self, topic: str, payload: bytes, received: tuple[float, int]) -> None:
        try:
            self._dispatch(topic, payload, received)
        except Exception as exc:  # a bug must not stop the loop: count it, fall back, go on
            self.counters["internal_errors"] += 1
            log.exception("%s: error handling a message on %s", self.site_id, topic)
            self._set_state(True, f"controller error: {type(exc).__name__}: {exc}", "INTERNAL")
            self.commanding = False

    def _dispatch(self, topic: str, payload: bytes, received: tuple[float, int]) -> None:
        if topic == self.topics["telemetry"]:
            self._telemetry(payload, received)
        elif topic == self.topics["cmd/ack"]:
            try:
                ack = msg.parse_ack(payload, self._now_ms())
            except msg.MessageError as err:
                self._reject("ack", err)
                return
            sent = self.pending.pop(ack.cmd_id, None)
            if sent is None:
                self._reject("ack", msg.MessageError("unknown", f"ack for unknown {ack.cmd_id}"))
                return
            self.acks[ack.status] += 1
            self.ack_latency_ms.append((time.perf_counter() - sent) * 1000.0)
        elif topic == self.topics["override"]:
            try:
                ov = msg.parse_override(payload, self._now_ms(), int(self.stale_s * 1000))
                self.override_seq.check(ov.operator, ov.seq, ov.ts)
                if ov.kind == "mode" and ov.mode == "active" and not self.allow_active:
                    raise msg.MessageError(
                        "mode", "this controller runs as `cooling shadow`: it never commands; "
                        "promote it with `cooling run`"
                    )  # fmt: skip
            except msg.MessageError as err:
                self._reject("override", err)
                return
            self.counters["overrides"] += 1
            log.warning(
                "%s: override %s %s by %r", self.site_id, ov.kind, ov.mode or "", ov.operator
            )
            self.runtime.override(Override(ov.kind, ov.mode))

    def _telemetry(self, payload: bytes, received: tuple[float, int]) -> None:
        wall, generation = received
        if generation != self.link.generation:
            self._reject("telemetry", msg.MessageError(
                "before_reconnect", "received before the broker connection was lost"))  # fmt: skip
            return
        now = self.clock.now_ms()
        try:
            if now is None:  # a scaled clock anchors at the first telemetry that parses
                t = msg.parse_telemetry(payload, self.site_id, self.readings, 2**62, 2**62)
                self.clock.anchor_at(t.ts, wall)
                now = self.clock.now_ms()
            t = msg.parse_telemetry(
                payload, self.site_id, self.readings, now, int(self.stale_s * 1000)
            )
            self.telemetry_seq.check(t.src, t.seq, t.ts)
            if self.last_step_ms is not None and t.ts < self.last_step_ms + self.min_gap_ms:
                # not a step, but valid readings: the plant's telemetry is not silent
                self.last_telemetry_ms = max(self.last_telemetry_ms or t.ts, t.ts)
                raise msg.MessageError(
                    "early", f"telemetry {(t.ts - self.last_step_ms) / 1000:.0f} s after the "
                    f"last step; this site steps every {self.interval_s:g} s"
                )  # fmt: skip
        except msg.MessageError as err:
            if err.code in ("stale", "future"):
                self.clock.missed()
            self._reject("telemetry", err)
            return
        self.clock.hit()
        self.last_step_ms = t.ts
        self.counters["telemetry"] += 1
        self.last_telemetry_ms = t.ts
        if self.fallback and self.state_reason.startswith(("no valid telemetry", "broker")):
            self._set_state(False, "telemetry flowing: control resumed")
        elif self.fallback and self.state_reason.startswith("controller error"):
            self._set_state(False, "running again after an internal error")
        elif not self.fallback and self.state_reason == "starting":
            self._set_state(False, "running")
        reading = dict(t.values)
        for name in list(t.values):
            reading[f"{name}_ts"] = t.ts / 1000.0
        self._hours[:] = hour_of_year(t.ts, self.utc_offset_h)
        record = self.runtime.step(reading, ts=now / 1000.0)
        self.counters["steps"] += 1
        cmd_id = ""
        if record.command is not None:
            cmd_id = self._command(record, now)
        commanding = bool(cmd_id)
        if commanding != self.commanding:  # tell the plant at once who is in control
            self.commanding = commanding
            self._heartbeat()
        actual = self._predict(t, record)
        self.records.append((t.ts, record, t.values))
        if self.sink is not None:
            self._write(lambda: self._points(t, record, cmd_id))
        # last: a reading whose recommendation is out has its points in the spool already
        self._publish_reco(t, record, cmd_id, actual)

    def _command(self, record: StepRecord, now_ms: int) -> str:
        """Publish the shielded command (never retained; expiry in payload and MQTT 5)."""
        if not self.link.connected.is_set():
            self.counters["commands_dropped"] += 1
            return ""
        cmd_id = uuid.uuid4().hex[:16]
        setpoints = {n: record.command[n] for n in self.exposed}  # type: ignore[index]
        payload = msg.encode(msg.CommandMsg(
            ts=now_ms, seq=self._next_seq(), cmd_id=cmd_id,
            expires_ts=now_ms + int(self.ttl_s * 1000), mode="active",
            setpoints=setpoints, model=self.model_name))  # fmt: skip
        expiry_wall = max(1.0, self.ttl_s / self.config.controller.time_scale)
        if self.link.publish(self.topics["cmd/set"], payload, 1, False, expiry_s=expiry_wall):
            self.pending[cmd_id] = time.perf_counter()
            self.counters["commands_sent"] += 1
            if len(self.pending) > 1000:  # never acknowledged: forget the oldest
                self.pending.pop(next(iter(self.pending)))
            return cmd_id
        self.counters["commands_dropped"] += 1
        return ""

    def _predicted(self, record: StepRecord, actual: np.ndarray) -> tuple[float, float]:
        """Predicted PUE with the recommendation and kW saved against the actual setpoints."""
        if record.recommended is None or not np.isfinite(actual).all():
            return math.nan, math.nan
        reco = np.array([record.recommended[n] for n in NAMES])
        try:
            kw = self.runtime.shield.predict_facility_kw(np.stack([reco, actual]))
        except Exception:  # a prediction is advice: never a reason to stop the loop
            return math.nan, math.nan
        it_kw = self.runtime.shield.memory["it_kw"].value
        return float(kw[0] / it_kw) if it_kw > 0 else math.nan, float(kw[1] - kw[0])

    def _predict(self, t: msg.TelemetryMsg, record: StepRecord) -> np.ndarray:
        """The setpoints the plant runs, and the predicted PUE and kW saved with the
        recommendation (kept for the reco message and the InfluxDB points)."""
        # a setpoint the site does not expose is the spec's fixed one, whether or not the
        # plant reports it
        actual = np.array(
            [
                t.values.get(f"{n}_set", math.nan) if n in self.exposed else bms
                for n, bms in zip(NAMES, self.runtime.shield.bms, strict=True)
            ]
        )
        pue, saved = self._predicted(record, actual)
        self._last_prediction = (pue, saved)
        if math.isfinite(saved):
            self._saved_kw_sum += saved
            self.counters["predictions"] += 1
        return actual

    def _publish_reco(
        self, t: msg.TelemetryMsg, record: StepRecord, cmd_id: str, actual: np.ndarray
    ) -> None:
        pue, saved = self._last_prediction
        reco = {
            "ts": t.ts, "seq": self._next_seq(), "mode": record.mode, "model": self.model_name,
            "proposed": {n: record.proposed[n] for n in self.exposed},
            "recommended": {n: record.recommended[n] for n in self.exposed}
            if record.recommended else None,
            "actual": {n: float(actual[NAMES.index(n)]) for n in self.exposed},
            "commanded": cmd_id or None, "fallback": record.fallback, "hold": record.hold,
            "predicted_pue": pue, "predicted_savings_kw": saved,
            "predicted_inlet_max_c": record.predicted_inlet_max_c,
            "safety": [{"code": r.code, "message": r.message} for r in record.reasons],
        }  # fmt: skip
        self.link.publish(self.topics["reco"], msg.encode(reco), 1, True)

    # -- InfluxDB ----------------------------------------------------------------------------------
    def _write(self, lines: list[str] | Callable[[], list[str]]) -> None:
        """Spool the lines (or what the callable makes of them); any failure, encoding
        included, is counted in ``influx_errors`` and logged, never raised."""
        try:
            self.sink.write(lines() if callable(lines) else lines)  # type: ignore[union-attr]
        except Exception:  # the log is not the loop: count, never crash
            self.counters["influx_errors"] += 1
            log.exception("%s: could not spool points", self.site_id)

    def _points(self, t: msg.TelemetryMsg, record: StepRecord, cmd_id: str) -> list[str]:
        v, ts, site, mode = t.values, t.ts, self.site_id, record.mode
        it_kw, fac_kw = v.get("it_kw", math.nan), v.get("facility_kw", math.nan)
        lines = [encode("pue", {"site": site, "window": "interval"},
                        {"pue": fac_kw / it_kw if it_kw > 0 else math.nan,
                         "it_kw": it_kw, "facility_kw": fac_kw}, ts)]  # fmt: skip
        if math.isfinite(it_kw) and math.isfinite(fac_kw):
            self._pue_window.append((ts, it_kw, fac_kw))
        while self._pue_window and self._pue_window[0][0] <= ts - 86_400_000:
            self._pue_window.popleft()
        if self._pue_window:
            it_sum = sum(w[1] for w in self._pue_window)
            fac_sum = sum(w[2] for w in self._pue_window)
            # the hours of readings behind it: fewer than 24 after a (re)start or a gap
            hours = min(24.0, len(self._pue_window) * self.interval_s / 3600.0)
            lines.append(encode("pue", {"site": site, "window": "24h"},
                                {"pue": fac_sum / it_sum if it_sum > 0 else math.nan,
                                 "it_kw": it_sum / len(self._pue_window),
                                 "facility_kw": fac_sum / len(self._pue_window),
                                 "hours": hours}, ts))  # fmt: skip
        subsystems = {"it": "it_kw", "chiller": "chiller_kw", "tower_fan": "tower_fan_kw",
                      "chw_pump": "chw_pump_kw", "cw_pump": "cw_pump_kw",
                      "crah_fan": "crah_fan_kw", "server_fan": "server_fan_kw",
                      "electrical_loss": "electrical_loss_kw", "cooling": "cooling_kw",
                      "facility": "facility_kw"}  # fmt: skip
        for sub, name in subsystems.items():
            if name in v:
                lines.append(encode("power", {"site": site, "subsystem": sub}, {"kw": v[name]}, ts))
        # the interval the readings cover
        start = hour_of_year(ts - self.interval_s * 1000, self.utc_offset_h)
        intensity = float(intensity_at(self.carbon, np.array([start]))[0])
        lines.append(encode("plant", {"site": site}, {
            "water_l": v.get("water_l", math.nan),
            "carbon_kg": fac_kw * self.interval_s / 3600.0 * intensity / 1000.0,
            "outdoor_dry_bulb_c": v.get("outdoor_dry_bulb_c", math.nan),
            "outdoor_wet_bulb_c": v.get("outdoor_wet_bulb_c", math.nan),
            "it_utilisation": it_kw / self.spec.it.capacity_kw,
        }, ts))  # fmt: skip
        for kind in ("supply_air", "return_air", "chw_supply", "chw_return", "cw_supply",
                     "cw_return", "inlet_max", "inlet_mean"):  # fmt: skip
            if f"{kind}_c" in v:
                name = kind.replace("inlet", "rack_inlet")
                lines.append(encode("temperature", {"site": site, "zone": "all", "kind": name},
                                    {"c": v[f"{kind}_c"]}, ts))  # fmt: skip
        for z in range(len(self.spec.zones)):
            for stat in ("max", "mean"):
                name = f"zone{z}_inlet_{stat}_c"
                if name in v:
                    lines.append(encode("temperature", {"site": site, "zone": f"zone{z}",
                                                        "kind": f"rack_inlet_{stat}"},
                                        {"c": v[name]}, ts))  # fmt: skip
        for n in self.exposed:
            fields_ = {"proposed": record.proposed[n], "actual": v.get(f"{n}_set", math.nan)}
            if record.recommended is not None:
                fields_["recommended"] = record.recommended[n]
            if record.command is not None and cmd_id:
                fields_["commanded"] = record.command[n]
            lines.append(encode("setpoint", {"site": site, "point": n, "mode": mode}, fields_, ts))
        for r in record.reasons:
            lines.append(encode("safety_event", {"site": site, "rule": r.code, "mode": mode},
                                {"count": 1.0, "message": r.message}, ts))  # fmt: skip
        pue_pred, saved = getattr(self, "_last_prediction", (math.nan, math.nan))
        lines.append(encode("controller", {"site": site, "mode": mode}, {
            "up": 1.0, "fallback": float(record.fallback or self.fallback),
            "hold": float(record.hold), "loop_ms": record.loop_ms,
            "telemetry_age_s": (self._now_ms() - ts) / 1000.0,
            "predicted_inlet_max_c": record.predicted_inlet_max_c,
            "predicted_pue": pue_pred, "predicted_savings_kw": saved,
            "rejected_messages": float(sum(self.rejected.values())),
            "commands_sent": float(self.counters["commands_sent"]),
            "acks": float(sum(self.acks.values())),
        }, ts))  # fmt: skip
        return [line for line in lines if line]
