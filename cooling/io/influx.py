"""The InfluxDB edge: the only module that imports influxdb-client.

Telemetry goes encoder → durable spool → sender thread → server (DEPLOYMENT.md §4):

- :func:`encode` makes one line of line protocol with :class:`influxdb_client.Point`, ms
  precision and the plant's own timestamp. Numbers are always floats, so a field never
  changes type (int then float is a 400 "field type conflict" for the rest of the shard).
- :class:`Spool` keeps the lines in SQLite (WAL) until the server confirms them; it survives
  a killed process, and beyond ``spool_max_points`` drops the oldest and counts them.
- :class:`InfluxSink` sends the oldest batch first and deletes it only after a 2xx. Connection
  errors, 429 and 5xx are retried with exponential backoff, same batch, order kept. A 400 is
  split in halves until each bad line is alone; the good lines are stored and each bad line
  goes to a dead-letter file (JSON lines). Explicit timestamps make a replay idempotent.
- Transports with the same body: ``"v1"`` POSTs ``/write`` (InfluxDB 1.x; 2.x through DBRP;
  3.x), ``"v2"`` uses influxdb-client's synchronous ``/api/v2/write`` (2.x, 3.x, 1.8+).

Schema (all numeric fields float; tags low-cardinality; timestamps = plant telemetry, ms):

| measurement | tags | fields |
| --- | --- | --- |
| `pue` | site, window | pue, it_kw, facility_kw, hours |
| `power` | site, subsystem | kw |
| `plant` | site | water_l, carbon_kg, outdoor_dry_bulb_c, outdoor_wet_bulb_c, it_utilisation |
| `temperature` | site, zone, kind | c |
| `setpoint` | site, point, mode | proposed, recommended, commanded, actual |
| `safety_event` | site, rule, mode | count, message |
| `controller` | site, mode | up, fallback, hold, loop_ms, telemetry_age_s, predicted_inlet_max_c, |
| | | rejected_messages, commands_sent, acks, predicted_savings_kw, predicted_pue |

Tag values: ``window`` interval or 24h (whose ``hours`` is the readings behind it times
the control interval, fewer than 24 after the controller starts or telemetry stops);
``subsystem`` it, chiller, tower_fan, chw_pump, cw_pump, crah_fan, server_fan,
electrical_loss, cooling, facility (the last two are sums); ``zone`` all, zone0, zone1, …;
``kind`` rack_inlet_max, rack_inlet_mean, supply_air, return_air, chw_supply, chw_return,
cw_supply, cw_return; ``point`` chw_supply_c, supply_air_c, cw_supply_c, chw_pump_speed,
economizer; ``mode`` shadow or active; ``rule`` a reason code, the shield's and the
runtime's (HARD_LIMIT, NONFINITE, RATE_LIMIT, ECONOMIZER_HOLD, PREDICTED_INLET, EMERGENCY,
TELEMETRY_MISSING, TELEMETRY_STALE and the other TELEMETRY_* checks, HAND_BACK,
RECOVERING, POLICY_FAULT, HOLD, FORCED_FALLBACK) or the controller's (BROKER_LOST,
TELEMETRY_SILENT, INTERNAL).
``safety_event.count`` is 1.0 per event and ``message`` its text (the only string field).
"""

from __future__ import annotations

import base64
import json
import logging
import math
import numbers
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import numpy as np
import urllib3
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.point import Point
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

log = logging.getLogger("cooling.influx")

TRANSPORTS = ("v1", "v2")

#: measurement → (tags, fields); the docstring table above and the Grafana dashboard
#: (hil/grafana/dc-cooling.json) are checked against it by tests/test_influx.py.
SCHEMA: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pue": (("site", "window"), ("pue", "it_kw", "facility_kw", "hours")),
    "power": (("site", "subsystem"), ("kw",)),
    "plant": (
        ("site",),
        ("water_l", "carbon_kg", "outdoor_dry_bulb_c", "outdoor_wet_bulb_c", "it_utilisation"),
    ),
    "temperature": (("site", "zone", "kind"), ("c",)),
    "setpoint": (("site", "point", "mode"), ("proposed", "recommended", "commanded", "actual")),
    "safety_event": (("site", "rule", "mode"), ("count", "message")),
    "controller": (
        ("site", "mode"),
        (
            "up",
            "fallback",
            "hold",
            "loop_ms",
            "telemetry_age_s",
            "predicted_inlet_max_c",
            "rejected_messages",
            "commands_sent",
            "acks",
            "predicted_savings_kw",
            "predicted_pue",
        ),
    ),
}


@dataclass(frozen=True)
class InfluxConfig:
    """Where and how to send telemetry, and where to keep it meanwhile."""

    url: str  # http(s)://host:port of the server
    transport: str = "v1"  # "v1": POST /write (1.x, 2.x via DBRP, 3.x); "v2": /api/v2/write
    database: str = "dcc"  # v1
    retention_policy: str = ""  # v1; "" = the database's default
    username: str = ""  # v1; sent as HTTP basic auth
    password: str = ""
    token: str = ""  # v2; for v1 (2.x/3.x /write) sent as "Authorization: Token …"
    org: str = ""  # v2
    bucket: str = ""  # v2
    spool_path: str = "spool.sqlite"  # SQLite (WAL) file of lines not yet confirmed
    spool_max_points: int = 2_000_000  # beyond it the oldest lines are dropped and counted
    batch_size: int = 5000  # lines per request
    timeout_s: float = 5.0  # per request
    dead_letter_path: str = ""  # "" = spool_path + ".dead-letter.jsonl"
    backoff_min_s: float = 0.1  # first wait after a failed request; doubles up to the max
    backoff_max_s: float = 5.0

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise ValueError(
                f"influx transport {self.transport!r}; allowed: {', '.join(TRANSPORTS)}"
            )
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"influx url must be http(s)://host[:port] (got {self.url!r})")
        if self.transport == "v1" and not self.database:
            raise ValueError("influx transport 'v1' needs a database")
        if self.transport == "v2":
            missing = [k for k in ("token", "org", "bucket") if not getattr(self, k)]
            if missing:
                raise ValueError(f"influx transport 'v2' needs {', '.join(missing)}")
        if bool(self.username) != bool(self.password):
            raise ValueError("influx username and password go together")
        if self.username and self.token:
            raise ValueError("influx: give either username/password or token, not both")
        for name in ("spool_max_points", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"influx {name} must be a positive integer (got {value!r})")
        if not self.timeout_s > 0:
            raise ValueError(f"influx timeout_s must be > 0 (got {self.timeout_s})")
        if not 0 < self.backoff_min_s <= self.backoff_max_s:
            raise ValueError("influx backoff_min_s must be > 0 and <= backoff_max_s")
        if not self.spool_path:
            raise ValueError("influx spool_path must not be empty")

    @property
    def dead_letters(self) -> str:
        """The dead-letter file actually used."""
        return self.dead_letter_path or self.spool_path + ".dead-letter.jsonl"


def encode(
    measurement: str,
    tags: Mapping[str, str],
    fields: Mapping[str, object],
    ts_ms: int,
) -> str:
    """One line of line protocol, ms precision, timestamp ``ts_ms`` [ms since the epoch].

    Numbers (int, float, numpy) become floats; bools stay bools; strings stay strings.
    Non-finite numbers are left out; with no field left the result is ``""``. Tags with
    empty values are left out.

    >>> encode("pue", {"site": "lab 1", "window": ""}, {"pue": 1, "x": float("nan")}, 5)
    'pue,site=lab\\\\ 1 pue=1 5'
    """
    point = Point(measurement)
    for key, tag in tags.items():
        if tag is not None and tag != "":
            point.tag(key, str(tag))
    for key, value in fields.items():
        if isinstance(value, bool | str):
            point.field(key, value)
        elif isinstance(value, np.bool_):
            point.field(key, bool(value))
        elif isinstance(value, numbers.Real):
            number = float(value)
            if math.isfinite(number):
                point.field(key, number)
        else:
            raise TypeError(
                f"field {measurement}.{key}: {type(value).__name__} is not a number, bool or str"
            )
    point.time(int(ts_ms), WritePrecision.MS)
    line: str = point.to_line_protocol()
    return line


class Spool:
    """Lines waiting for the server, oldest first, in SQLite (WAL, synchronous=NORMAL).

    Survives a killed process (a power cut may lose the last transactions). One connection
    behind a lock: the controller thread appends, the sender thread peeks and deletes.
    Row ids only grow (AUTOINCREMENT), so id order is write order.
    """

    def __init__(self, path: str | os.PathLike[str], max_points: int) -> None:
        if max_points < 1:
            raise ValueError(f"spool max_points must be >= 1 (got {max_points})")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_points = max_points
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(self.path), check_same_thread=False, isolation_level=None, timeout=30
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS points (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "line TEXT NOT NULL)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
        )
        self._count: int
        (self._count,) = self._db.execute("SELECT COUNT(*) FROM points").fetchone()

    def append(self, lines: Iterable[str]) -> None:
        """Add lines at the end; beyond ``max_points`` drop the oldest and count them (a line
        dropped while the sender has it in flight may still arrive)."""
        rows = [(line,) for line in lines]
        if not rows:
            return
        with self._lock:
            skipped = max(0, len(rows) - self.max_points)  # older than the cap on arrival
            rows = rows[skipped:]
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT INTO points (line) VALUES (?)", rows)
                excess = self._count + len(rows) - self.max_points
                removed = 0
                if excess > 0:
                    removed = self._db.execute(
                        "DELETE FROM points WHERE id IN "
                        "(SELECT id FROM points ORDER BY id LIMIT ?)",
                        (excess,),
                    ).rowcount
                if removed + skipped:
                    self._add_counter("dropped", removed + skipped)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._count += len(rows) - removed

    def peek(self, n: int) -> list[tuple[int, str]]:
        """The ``n`` oldest ``(id, line)``, oldest first."""
        with self._lock:
            return self._db.execute(
                "SELECT id, line FROM points ORDER BY id LIMIT ?", (n,)
            ).fetchall()

    def delete_upto(self, last_id: int) -> int:
        """Delete every line with id <= ``last_id``; returns how many went."""
        with self._lock:
            removed = self._db.execute("DELETE FROM points WHERE id <= ?", (last_id,)).rowcount
            self._count -= removed
            return removed

    def delete(self, ids: Iterable[int]) -> int:
        """Delete the lines with these ids; returns how many went."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            removed = 0
            try:
                for i in ids:
                    removed += self._db.execute("DELETE FROM points WHERE id = ?", (i,)).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._count -= removed
            return removed

    def __len__(self) -> int:
        return self._count

    @property
    def dropped(self) -> int:
        """Lines dropped by the cap, over the spool file's whole life."""
        return self.counter("dropped")

    def counter(self, name: str) -> int:
        """A persistent counter kept next to the lines (0 when never added to)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
            return int(row[0]) if row else 0

    def add_counter(self, name: str, n: int) -> None:
        with self._lock:
            self._add_counter(name, n)

    def _add_counter(self, name: str, n: int) -> None:
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (name, n),
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Transport:
    """POSTs a batch of lines; returns ``(status, reason)``; status 0 = no answer."""

    def post(self, lines: list[str]) -> tuple[int, str]:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _auth_headers(config: InfluxConfig) -> dict[str, str]:
    """v1 credentials as a header (never in the URL, which servers log)."""
    if config.username:
        raw = f"{config.username}:{config.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    if config.token:
        return {"Authorization": f"Token {config.token}"}
    return {}


def _error_text(body: bytes | str | None) -> str:
    """The server's error message: InfluxDB's JSON ``error``/``message`` or the raw body."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()
    if isinstance(data, dict):
        for key in ("error", "message"):
            message = data.get(key)
            if isinstance(message, str):
                return message
    return text.strip()


class _V1(_Transport):
    def __init__(self, config: InfluxConfig) -> None:
        params = {"db": config.database, "precision": "ms"}
        if config.retention_policy:
            params["rp"] = config.retention_policy
        self.url = f"{config.url.rstrip('/')}/write?{urlencode(params)}"
        self.headers = {"Content-Type": "text/plain; charset=utf-8", **_auth_headers(config)}
        self.http = urllib3.PoolManager(
            timeout=urllib3.Timeout(total=config.timeout_s), retries=False
        )

    def post(self, lines: list[str]) -> tuple[int, str]:
        body = "\n".join(lines).encode()
        try:
            r = self.http.request("POST", self.url, body=body, headers=self.headers)
        except (urllib3.exceptions.HTTPError, OSError) as e:
            return 0, f"{type(e).__name__}: {e}"
        return r.status, "" if 200 <= r.status < 300 else _error_text(r.data)

    def close(self) -> None:
        self.http.clear()


class _V2(_Transport):
    def __init__(self, config: InfluxConfig) -> None:
        self.bucket, self.org = config.bucket, config.org
        self.client = InfluxDBClient(
            url=config.url,
            token=config.token,
            org=config.org,
            timeout=int(config.timeout_s * 1000),
        )
        self.api = self.client.write_api(write_options=SYNCHRONOUS)

    def post(self, lines: list[str]) -> tuple[int, str]:
        try:
            self.api.write(
                bucket=self.bucket,
                org=self.org,
                record=lines,
                # WritePrecision holds str constants, but write() is annotated with the class
                write_precision=WritePrecision.MS,  # type: ignore[arg-type]
            )
        except ApiException as e:
            return int(e.status or 0), _error_text(e.body) or str(e.reason)
        except (urllib3.exceptions.HTTPError, OSError) as e:
            return 0, f"{type(e).__name__}: {e}"
        return 204, ""

    def close(self) -> None:
        self.client.close()


def ensure_database(config: InfluxConfig) -> bool:
    """``CREATE DATABASE`` on a v1 server (idempotent); False and a log line if that failed.

    For v2 there is nothing to do (buckets are provisioned on the server): True.
    """
    if config.transport != "v1":
        return True
    name = config.database.replace("\\", "\\\\").replace('"', '\\"')
    http = urllib3.PoolManager(timeout=urllib3.Timeout(total=config.timeout_s), retries=False)
    try:
        r = http.request(
            "POST",
            f"{config.url.rstrip('/')}/query",
            fields={"q": f'CREATE DATABASE "{name}"'},
            encode_multipart=False,
            headers=_auth_headers(config),
        )
    except (urllib3.exceptions.HTTPError, OSError) as e:
        log.warning("influx: cannot create database %r at %s: %s", config.database, config.url, e)
        return False
    finally:
        http.clear()
    if r.status != 200 or "error" in r.data.decode("utf-8", "replace"):
        log.warning(
            "influx: CREATE DATABASE %r answered %d: %s",
            config.database,
            r.status,
            _error_text(r.data),
        )
        return False
    return True


class InfluxSink:
    """encode → spool → sender thread → server. :meth:`write` never waits on the network.

    Lines left in the spool at :meth:`close` (server down) are sent by the next sink opened
    on the same spool file.
    """

    def __init__(self, config: InfluxConfig, start: bool = True) -> None:
        self.config = config
        self._spool = Spool(config.spool_path, config.spool_max_points)
        self._transport: _Transport = _V1(config) if config.transport == "v1" else _V2(config)
        self._dead_path = Path(config.dead_letters)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._progress = threading.Condition()
        self._sent = 0
        self._errors = 0
        self._last_error: str | None = None
        self._server_ok: bool | None = None  # None until the first answer
        self._thread: threading.Thread | None = None
        self._closed: dict[str, Any] | None = None  # the last stats, once closed
        if start:
            self.start()

    def start(self) -> None:
        """Start the sender thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="influx-sender", daemon=True)
            self._thread.start()

    def write(self, lines: Iterable[str]) -> None:
        """Spool the lines (empty ones skipped) and wake the sender."""
        if self._closed is not None:
            raise RuntimeError("influx sink is closed")
        self._spool.append(line for line in lines if line)
        self._wake.set()

    def flush(self, timeout_s: float) -> bool:
        """Wait until the spool is empty (True) or ``timeout_s`` passed (False)."""
        deadline = time.monotonic() + timeout_s
        self._wake.set()
        with self._progress:
            while len(self._spool):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._progress.wait(min(left, 0.05))
        return True

    def stats(self) -> dict[str, Any]:
        """Counters. ``dropped`` and ``dead_letter`` persist with the spool file; ``sent``
        and ``errors`` (failed requests) count since this sink started."""
        if self._closed is not None:
            return dict(self._closed)
        return {
            "spooled": len(self._spool),
            "sent": self._sent,
            "dropped": self._spool.dropped,
            "dead_letter": self._spool.counter("dead_letter"),
            "errors": self._errors,
            "last_error": self._last_error,
            "server_ok": bool(self._server_ok),
        }

    def close(self, timeout_s: float = 5.0) -> None:
        """Flush (skipped if the server is known down), stop the sender, close the spool."""
        if self._closed is not None:
            return
        deadline = time.monotonic() + timeout_s
        if self._thread is not None and self._server_ok is not False:
            self.flush(timeout_s)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            # a request in flight may take up to timeout_s to give up
            left = max(0.0, deadline - time.monotonic())
            self._thread.join(left + self.config.timeout_s)
            if self._thread.is_alive():
                log.warning("influx: sender thread still busy at close; spool left open")
                self._closed = self.stats()
                return
        self._closed = self.stats()
        self._transport.close()
        self._spool.close()

    # sender thread -------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self.config.backoff_min_s
        while not self._stop.is_set():
            self._wake.clear()
            try:
                batch = self._spool.peek(self.config.batch_size)
                if not batch:
                    self._wake.wait(1.0)
                    continue
                ok = self._deliver(batch)
            except Exception as e:  # one bad batch or disk hiccup must not end the thread
                log.exception("influx: sender error")
                self._errors += 1
                self._last_error = f"{type(e).__name__}: {e}"
                ok = False
            with self._progress:
                self._progress.notify_all()
            if ok:
                backoff = self.config.backoff_min_s
            else:
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.config.backoff_max_s)

    def _deliver(self, batch: list[tuple[int, str]]) -> bool:
        """Send ``batch`` in order; True when every line was stored or dead-lettered.

        A 400/413 is halved until each refused line is alone (about 2·log2(n) requests per
        bad line); a 400 that every line gets (say a misconfigured server) dead-letters all.
        """
        status, reason = self._transport.post([line for _, line in batch])
        if 200 <= status < 300:
            self._spool.delete_upto(batch[-1][0])
            self._sent += len(batch)
            self._set_server(True, None)
            return True
        if status in (400, 413):  # the server read it and refused (part of) it
            self._set_server(True, None)
            if len(batch) == 1:
                self._dead_letter(batch[0][1], status, reason)
                self._spool.delete_upto(batch[0][0])
                return True
            mid = len(batch) // 2
            return self._deliver(batch[:mid]) and self._deliver(batch[mid:])
        self._errors += 1
        self._set_server(False, f"HTTP {status}: {reason}" if status else reason)
        return False

    def _set_server(self, ok: bool, error: str | None) -> None:
        if ok and self._server_ok is False:
            log.info("influx: %s answers again", self.config.url)
        if not ok:
            self._last_error = error
            if self._server_ok is not False:
                log.warning("influx: writes to %s failing, spooling: %s", self.config.url, error)
        self._server_ok = ok

    def _dead_letter(self, line: str, status: int, reason: str) -> None:
        record = {"line": line, "status": status, "reason": reason, "ts": time.time()}
        self._dead_path.parent.mkdir(parents=True, exist_ok=True)
        with self._dead_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self._spool.add_counter("dead_letter", 1)
        log.error("influx: line refused (%d %s), dead-lettered: %.200s", status, reason, line)


# benchmark ---------------------------------------------------------------------------------


def controller_tick(site: str, ts_ms: int, zones: int = 4) -> list[str]:
    """The lines one controller tick writes (realistic values; for benchmarks and tests)."""
    s = (ts_ms // 1000) % 3600 / 3600.0
    lines = [
        encode(
            "pue",
            {"site": site, "window": w},
            {"pue": 1.3 + 0.05 * s, "it_kw": 800.0, "facility_kw": 1040.0 + 40 * s}
            | ({"hours": 24.0} if w == "24h" else {}),
            ts_ms,
        )
        for w in ("interval", "24h")
    ]
    for i, sub in enumerate(
        (
            "it",
            "chiller",
            "tower_fan",
            "chw_pump",
            "cw_pump",
            "crah_fan",
            "server_fan",
            "electrical_loss",
            "cooling",
            "facility",
        )
    ):
        lines.append(encode("power", {"site": site, "subsystem": sub}, {"kw": 10.0 * i + s}, ts_ms))
    lines.append(
        encode(
            "plant",
            {"site": site},
            {
                "water_l": 12.5,
                "carbon_kg": 3.1 + s,
                "outdoor_dry_bulb_c": 28.0,
                "outdoor_wet_bulb_c": 21.5,
                "it_utilisation": 0.71,
            },
            ts_ms,
        )
    )
    for zone in ["all"] + [f"zone{z}" for z in range(zones)]:
        for kind in ("rack_inlet_max", "rack_inlet_mean", "supply_air", "return_air"):
            t = {"site": site, "zone": zone, "kind": kind}
            lines.append(encode("temperature", t, {"c": 22.0 + s}, ts_ms))
    for point in ("chw_supply_c", "supply_air_c", "cw_supply_c", "chw_pump_speed", "economizer"):
        lines.append(
            encode(
                "setpoint",
                {"site": site, "point": point, "mode": "shadow"},
                {"proposed": 7.5, "recommended": 7.4, "commanded": 7.0, "actual": 7.02},
                ts_ms,
            )
        )
    lines.append(
        encode(
            "controller",
            {"site": site, "mode": "shadow"},
            {
                "up": 1.0,
                "fallback": 0.0,
                "hold": 0.0,
                "loop_ms": 3.2,
                "telemetry_age_s": 0.4,
                "predicted_inlet_max_c": 24.1,
                "rejected_messages": 0,
                "commands_sent": 12,
                "acks": 12,
                "predicted_savings_kw": 18.5,
            },
            ts_ms,
        )
    )
    return lines


def bench_spool(n: int = 100_000, path: str | os.PathLike[str] | None = None) -> dict[str, float]:
    """Points/s for encode alone, Spool.append alone and both, in batches of ~500 points.

    ``path``: the spool file (a fresh temporary one when None; it is deleted afterwards).
    """
    ticks = max(1, n // len(controller_tick("bench", 0)))
    t0 = time.perf_counter()
    lines = [ln for k in range(ticks) for ln in controller_tick("bench", 1_700_000_000_000 + k)]
    t_encode = time.perf_counter() - t0
    batch = 500
    with tempfile.TemporaryDirectory() as tmp:
        spool = Spool(path or Path(tmp) / "bench.sqlite", max_points=len(lines) + 1)
        try:
            t0 = time.perf_counter()
            for i in range(0, len(lines), batch):
                spool.append(lines[i : i + batch])
            t_append = time.perf_counter() - t0
            stored = len(spool)
        finally:
            spool.close()
    return {
        "points": float(stored),
        "encode_points_per_s": len(lines) / t_encode,
        "append_points_per_s": len(lines) / t_append,
        "spooled_points_per_s": len(lines) / (t_encode + t_append),
        "bytes_per_point": sum(map(len, lines)) / len(lines),
    }
