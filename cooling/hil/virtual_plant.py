"""The virtual plant: the site's simulated plant served over MQTT on the real topics.

    cooling virtual-plant --site SITE --broker HOST:PORT [--speed X] [--days D]

Each control interval it steps the physics, publishes the telemetry (``ts``: the end of
the interval on the plant's clock; X times faster than real time with ``--speed X``),
and plays the part of a BMS bridge for the commands it receives:

- a command is parsed and checked like any message (types, ranges, ``seq``, expiry in
  plant time); a valid one is clamped to the site's ramp limits and applied from the
  next interval; every command with a readable ``cmd_id`` is acknowledged (``applied``,
  ``clamped``, ``rejected``, ``expired`` or ``duplicate``, with the reason);
- expired and duplicate commands are never applied;
- when the controller's heartbeats stop for ``heartbeat_timeout_s`` (wall) or its status
  turns ``offline``, the plant relinquishes: its own (the site's fixed) setpoints apply
  until a valid command arrives.

``history`` keeps, per interval, the plant's own PUE and the setpoints in force, so a
test can compare what the controller logged with what the plant did.

Its clock is the site's: day ``--start`` of the traces (local standard time, the weather
file's UTC offset) is published as the matching UTC ``ts``, so a controller at the same
offset reads the same hour of the traces.
"""

from __future__ import annotations

import calendar
import json
import logging
import math
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from cooling.control.baselines import _limits
from cooling.io import messages as msg
from cooling.io.mqtt import BrokerConfig, MqttLink
from cooling.plant import plant as plantmod
from cooling.service import hour_of_year, readings_of, site_utc_offset_h
from cooling.setpoints import NAMES, fixed_vector, site_names
from cooling.simulation import traces_at_hours
from cooling.spec import SiteSpec

log = logging.getLogger("cooling.virtual_plant")


@dataclass
class Interval:
    ts: int  # end of the interval, plant clock [epoch ms]
    pue: float
    setpoints: dict[str, float]  # in force during the interval
    controlled: bool  # the controller's commands were in force (not relinquished)
    inlet_max_c: float
    facility_kw: float


class VirtualPlant:
    """A simulated plant behind MQTT; :meth:`run` blocks until ``days`` are served."""

    def __init__(
        self,
        spec: SiteSpec,
        broker: BrokerConfig,
        speed: float = 1.0,
        days: float = 1.0,
        start_day: float | None = None,
        seed: int = 0,
        site_id: str = "",
        prefix: str = msg.PREFIX,
        heartbeat_timeout_s: float = 15.0,
        utc_offset_h: float | None = None,
    ):
        if not 0.01 <= speed <= 100_000:
            raise ValueError(f"speed must be in 0.01..100000 (got {speed})")
        if days <= 0:
            raise ValueError(f"days must be > 0 (got {days})")
        self.spec, self.speed = spec, speed
        self.site_id = site_id or spec.name
        self.interval_s = spec.interval_s
        self.n_steps = round(days * 86400.0 / self.interval_s)
        # the traces' rows are the site's local standard time: its 1 January 00:00 is
        # UTC minus the offset
        offset_h = utc_offset_h
        if offset_h is None:
            offset_h = site_utc_offset_h(spec, "--utc-offset-h")
        wall_now = time.time()
        year = time.gmtime(wall_now + offset_h * 3600.0).tm_year
        while calendar.isleap(year):  # the traces' year has no 29 February
            year -= 1
        jan1_ms = int((calendar.timegm((year, 1, 1, 0, 0, 0)) - offset_h * 3600.0) * 1000)
        if start_day is None:  # real time: the plant's clock is the wall clock
            self.t0_ms = int(wall_now * 1000)
        else:
            if not 0 <= start_day < 365:
                raise ValueError(f"start day must be in 0..364 (got {start_day})")
            self.t0_ms = int(jan1_ms + start_day * 24.0 * 3.6e6)
        # each interval reads the hour of the traces that the controller's clock gives it
        # (service.hour_of_year), so a run across 29 February stays in step with it
        step_ms = self.interval_s * 1000.0
        hours = [hour_of_year(self.t0_ms + k * step_ms, offset_h) for k in range(self.n_steps + 1)]
        self.traces = traces_at_hours(spec, np.array(hours)[:, None], np.array([seed]))
        self.params = plantmod.params_from_spec(spec)
        self.bms = fixed_vector(spec)
        self.setpoints = self.bms.copy()
        sp = plantmod.Setpoints(self.setpoints[None, :].copy())
        self.state = plantmod.initial_state(self.params, sp, self.traces.at(0))
        self.lo, self.hi, self.ramp = _limits(spec)
        self.exposed = site_names(spec)
        self.ranges = {n: (float(self.lo[NAMES.index(n)]), float(self.hi[NAMES.index(n)]))
                       for n in self.exposed}  # fmt: skip
        self.readings = sorted(readings_of(spec))
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.controlled = False  # a controller's command is in force
        self.last_beat = -math.inf  # wall, monotonic
        self.seen: dict[str, None] = {}
        self.cmd_seq = msg.SeqTracker()
        self.counts: Counter[str] = Counter()
        self.history: list[Interval] = []
        self.acks: list[dict] = []
        self.applied: list[tuple[int, int, int]] = []  # (plant ms applied, cmd ts, expires_ts)
        self.latency_ms: list[float] = []  # from publishing telemetry to its command arriving
        self._published_at: float | None = None
        self.seq = 0
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._wall0 = 0.0
        t = lambda kind: msg.topic(self.site_id, kind, prefix)  # noqa: E731
        self.topics = {k: t(k) for k in ("telemetry", "cmd/set", "cmd/ack",
                                         "status/controller", "status/heartbeat")}  # fmt: skip
        subs = [(self.topics["cmd/set"], 1), (self.topics["status/controller"], 1),
                (self.topics["status/heartbeat"], 0)]  # fmt: skip
        self.link = MqttLink(broker, subs, lambda tp, p: self.inbox.put((tp, p)),
                             name=f"plant-{self.site_id}")  # fmt: skip

    # -- the plant's clock -------------------------------------------------------------------
    def now_ms(self) -> int:
        return int(self.t0_ms + (time.time() - self._wall0) * 1000.0 * self.speed)

    def stop(self) -> None:
        self._stop.set()

    def run(self, connect_timeout_s: float = 10.0) -> dict:
        self.link.start()
        if not self.link.connected.wait(connect_timeout_s):
            self.link.stop()
            raise ConnectionError(f"virtual plant: broker not reachable ({self.link.last_error})")
        self._wall0 = time.time()
        try:
            for k in range(self.n_steps):
                deadline = self._wall0 + (k + 1) * self.interval_s / self.speed
                while not self._stop.is_set():
                    remaining = deadline - time.time()
                    if remaining <= 0:
                        break
                    try:
                        self._handle(*self.inbox.get(timeout=min(remaining, 0.05)))
                    except queue.Empty:
                        pass
                if self._stop.is_set():
                    break
                self._drain()
                self._watchdog()
                self._step(k)
            linger = time.time() + min(2.0, 2 * self.interval_s / self.speed)
            while time.time() < linger and not self._stop.is_set():  # acknowledge the last
                try:
                    self._handle(*self.inbox.get(timeout=0.05))
                except queue.Empty:
                    pass
        finally:
            self.link.stop()
        return self.summary()

    def summary(self) -> dict:
        pues = [h.pue for h in self.history]
        return {"site": self.site_id, "intervals": len(self.history), "speed": self.speed,
                "pue": float(np.mean(pues)) if pues else None,
                "facility_kw_mean": float(np.mean([h.facility_kw for h in self.history]))
                if self.history else None,
                "max_inlet_c": max((h.inlet_max_c for h in self.history), default=None),
                "commands": dict(self.counts), "controlled_intervals":
                sum(h.controlled for h in self.history)}  # fmt: skip

    def _drain(self) -> None:
        while True:
            try:
                self._handle(*self.inbox.get_nowait())
            except queue.Empty:
                return

    def _watchdog(self) -> None:
        if self.controlled and time.monotonic() - self.last_beat > self.heartbeat_timeout_s:
            self._relinquish("controller heartbeats stopped")

    def _relinquish(self, why: str) -> None:
        if self.controlled:
            log.warning("virtual plant: %s: the plant's own setpoints apply", why)
            self.counts["relinquished"] += 1
        self.controlled = False
        self.setpoints = self.bms.copy()

    def _step(self, k: int) -> None:
        sp = plantmod.Setpoints(self.setpoints[None, :].copy())
        self.state, tel = plantmod.step(self.state, sp, self.traces.at(k), self.params)
        ts = self.t0_ms + round((k + 1) * self.interval_s * 1000)
        row = tel.row(0)
        values = {n: float(row[n]) for n in self.readings}
        self.history.append(Interval(
            ts, float(row["facility_kw"] / row["it_kw"]),
            {n: float(self.setpoints[NAMES.index(n)]) for n in self.exposed},
            self.controlled, float(row["inlet_max_c"]), float(row["facility_kw"])))  # fmt: skip
        self.seq += 1
        payload = msg.encode({"ts": ts, "seq": self.seq, "site": self.site_id,
                              "src": "virtual-plant", "values": values})  # fmt: skip
        self._published_at = time.perf_counter()
        self.link.publish(self.topics["telemetry"], payload, 1, False)

    # -- messages from the controller ---------------------------------------------------------
    def _handle(self, topic: str, payload: bytes) -> None:
        try:
            self._dispatch(topic, payload)
        except Exception:  # a message must never stop the plant
            self.counts["internal_errors"] += 1
            log.exception("virtual plant: error handling a message on %s", topic)

    def _dispatch(self, topic: str, payload: bytes) -> None:
        if topic == self.topics["status/heartbeat"]:
            self.last_beat = time.monotonic()
            beat = _json_object(payload)
            if beat.get("commanding") is False:  # the controller handed control back
                self._relinquish("the controller handed control back")
        elif topic == self.topics["status/controller"]:
            state = _json_object(payload).get("state")
            if state == "offline":
                self._relinquish("controller offline")
            elif state == "online":
                self.last_beat = time.monotonic()
        elif topic == self.topics["cmd/set"]:
            self._command(payload)

    def _ack(self, cmd_id: str, status: str, applied: dict | None = None, reason: str = "") -> None:
        self.counts[status] += 1
        self.seq += 1
        ack = {"ts": self.now_ms(), "seq": self.seq, "cmd_id": cmd_id, "status": status,
               "applied": applied or {}, "reason": reason}  # fmt: skip
        self.acks.append(ack)
        self.link.publish(self.topics["cmd/ack"], msg.encode(ack), 1, False)

    def _command(self, payload: bytes) -> None:
        if self._published_at is not None:  # telemetry → command, through the controller
            self.latency_ms.append((time.perf_counter() - self._published_at) * 1000.0)
            self._published_at = None
        now = self.now_ms()
        try:
            cmd = msg.parse_command(payload, self.ranges, now)
        except msg.MessageError as err:
            cmd_id = _peek_cmd_id(payload)
            log.warning("virtual plant: command %s refused (%s): %s", cmd_id, err.code, err)
            if cmd_id is None:
                self.counts["unreadable"] += 1
            else:
                status = "expired" if err.code == "expired" else "rejected"
                self._ack(cmd_id, status, reason=str(err))
            return
        if cmd.cmd_id in self.seen:
            self._ack(cmd.cmd_id, "duplicate", reason="cmd_id already seen: ignored")
            return
        self.seen[cmd.cmd_id] = None
        if len(self.seen) > 10_000:
            self.seen.pop(next(iter(self.seen)))
        try:
            self.cmd_seq.check("controller", cmd.seq, cmd.ts)
        except msg.MessageError as err:
            self._ack(cmd.cmd_id, "rejected", reason=str(err))
            return
        self.last_beat = time.monotonic()
        applied, clamped = {}, []
        for name, value in cmd.setpoints.items():
            j = NAMES.index(name)
            if name == "economizer":
                target = 1.0 if value >= 0.5 else 0.0
            else:
                now_v, step = self.setpoints[j], self.ramp[j]
                target = min(max(value, now_v - step), now_v + step)
                if target != value:
                    clamped.append(f"{name} {value:g} → {target:g} (ramp {step:g} per interval)")
            self.setpoints[j] = target
            applied[name] = float(target)
        self.controlled = True
        self.applied.append((now, cmd.ts, cmd.expires_ts))
        if clamped:
            self._ack(cmd.cmd_id, "clamped", applied, "; ".join(clamped))
        else:
            self._ack(cmd.cmd_id, "applied", applied)


def _json_object(payload: bytes) -> dict:
    """The payload as a JSON object, or an empty one (never raises)."""
    try:
        d = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}
    return d if isinstance(d, dict) else {}


def _peek_cmd_id(payload: bytes) -> str | None:
    cmd_id = _json_object(payload).get("cmd_id")
    return cmd_id if isinstance(cmd_id, str) and msg._ID_RE.match(cmd_id) else None
