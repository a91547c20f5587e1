"""Wire schemas of the MQTT topics ↔ frozen dataclasses, with validation.

Every payload is one JSON object (UTF-8) with ``v`` (schema version, 1), ``ts`` (epoch
milliseconds, UTC) and ``seq`` (a per-publisher counter). Parsing never trusts the wire:
a malformed, mistyped, out-of-range, stale, duplicate or expired message raises
:class:`MessageError` with a short ``code`` (counted in the controller's status) and a
sentence saying what was wrong and what is allowed. Nothing here knows the plant: the
caller passes the readings and setpoints it accepts.

=================================  ==============================================
topic (prefix ``dcc/v1/{site}/``)  payload
=================================  ==============================================
``telemetry``                      ``site``, ``values`` {reading: number|null},
                                   optional ``quality`` {reading: "good"|"bad"|...}
``cmd/set``                        ``cmd_id``, ``expires_ts``, ``mode``,
                                   ``setpoints`` {name: number}, ``model``
``cmd/ack``                        ``cmd_id``, ``status``, ``applied``, ``reason``
``reco``                           ``mode``, ``proposed``, ``recommended``,
                                   ``actual``, ``predicted_pue``,
                                   ``predicted_savings_kw``, ``safety``, ...
``status/controller``              ``state`` online|offline, ``mode``, ``version``,
                                   ``fallback``, ``reason``, ``counters``
``status/heartbeat``               ``loop_ms``, ``telemetry_age_s``, ``mode``,
                                   ``fallback``, ``commanding``
``override``                       ``kind``, ``mode``, ``operator``
=================================  ==============================================
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1
PREFIX = "dcc/v1"
#: largest payload accepted [bytes]
MAX_PAYLOAD = 64 * 1024
#: a message stamped further than this in the future is refused (clock skew) [ms]
MAX_FUTURE_MS = 60_000
#: the longest a command may stay valid [ms]
MAX_TTL_MS = 3_600_000
#: publishers a :class:`SeqTracker` follows at most (ids beyond are refused)
MAX_PUBLISHERS = 64

ACK_STATUSES = ("applied", "clamped", "rejected", "expired", "duplicate")
MODES = ("shadow", "active")
OVERRIDE_KINDS = ("hold", "release", "mode", "force_fallback", "clear_fallback")
QUALITY_GOOD = "good"

#: Physical range of a reading, by the unit at the end of its name.
UNIT_RANGES: dict[str, tuple[float, float]] = {
    "_c": (-60.0, 150.0),
    "_kw": (0.0, 1.0e6),
    "_l": (0.0, 1.0e9),
    "_kg_s": (0.0, 1.0e5),
    "_speed": (0.0, 1.5),
    "_plr": (0.0, 1.5),
    "_on": (0.0, 100.0),
    "_fraction": (0.0, 1.0),
}

_SITE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class MessageError(ValueError):
    """A rejected message: ``code`` for counting, the text for the log."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def topic(site: str, kind: str, prefix: str = PREFIX) -> str:
    """``dcc/v1/{site}/{kind}``; the site id is checked."""
    if not _SITE_RE.match(site):
        raise ValueError(f"site id {site!r}: use lower-case letters, digits, '_' or '-'")
    return f"{prefix}/{site}/{kind}"


def unit_range(name: str) -> tuple[float, float] | None:
    """The physical range of a reading from its unit suffix (``<setpoint>_set``: its own)."""
    if name.endswith("_set"):
        base = name[: -len("_set")]
        own = {"economizer": (0.0, 1.0), "crah_airflow": (0.0, 1.5)}  # no unit suffix
        return own[base] if base in own else unit_range(base)
    for suffix, rng in UNIT_RANGES.items():
        if name.endswith(suffix):
            return rng
    return None


# -- the dataclasses -------------------------------------------------------------------
@dataclass(frozen=True)
class TelemetryMsg:
    ts: int
    seq: int
    site: str
    values: dict[str, float]  # NaN where the reading is null or its quality is not good
    src: str = ""


@dataclass(frozen=True)
class CommandMsg:
    ts: int
    seq: int
    cmd_id: str
    expires_ts: int
    mode: str
    setpoints: dict[str, float]
    model: str = ""


@dataclass(frozen=True)
class AckMsg:
    ts: int
    seq: int
    cmd_id: str
    status: str
    applied: dict[str, float] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class OverrideMsg:
    ts: int
    seq: int
    kind: str
    mode: str | None = None
    operator: str = ""


def encode(obj: Any) -> bytes:
    """A dataclass or dict as the wire's JSON (``v`` added; NaN written as null)."""
    d = asdict(obj) if hasattr(obj, "__dataclass_fields__") else dict(obj)
    d = {"v": SCHEMA_VERSION, **d}
    return json.dumps(_nan_to_none(d), separators=(",", ":"), allow_nan=False).encode()


def _nan_to_none(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _nan_to_none(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_nan_to_none(v) for v in x]
    return x


# -- parsing ---------------------------------------------------------------------------
def _load(payload: bytes | str) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD:
        raise MessageError("too_large", f"payload of {len(payload)} bytes (limit {MAX_PAYLOAD})")
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        d = json.loads(text, parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise MessageError("malformed", f"not UTF-8 JSON: {exc}") from None
    except RecursionError:
        raise MessageError("malformed", "JSON nested too deeply") from None
    if not isinstance(d, dict):
        raise MessageError("malformed", f"payload must be a JSON object (got {type(d).__name__})")
    v = d.get("v")
    if v != SCHEMA_VERSION or isinstance(v, bool):
        raise MessageError("version", f"schema version v={v!r} (supported: {SCHEMA_VERSION})")
    return d


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def _int(d: dict[str, Any], key: str, lo: int = 0) -> int:
    x = d.get(key)
    if isinstance(x, bool) or not isinstance(x, int):
        raise MessageError("type", f"{key} must be an integer (got {_show(x)})")
    if x < lo:
        raise MessageError("range", f"{key} must be >= {lo} (got {x})")
    return x


def _str(
    d: dict[str, Any],
    key: str,
    allowed: tuple[str, ...] | None = None,
    pattern: re.Pattern[str] | None = None,
) -> str:
    x = d.get(key)
    if not isinstance(x, str):
        raise MessageError("type", f"{key} must be a string (got {_show(x)})")
    if allowed is not None and x not in allowed:
        raise MessageError("range", f"{key} = {x!r}; allowed: {', '.join(allowed)}")
    if pattern is not None and not pattern.match(x):
        raise MessageError("range", f"{key} = {x[:70]!r}: 1-64 letters, digits or _.:-")
    return x


def _show(x: Any) -> str:
    return "nothing" if x is None else f"{type(x).__name__} {str(x)[:40]!r}"


def _number(name: str, x: object, rng: tuple[float, float] | None) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise MessageError("type", f"{name} must be a number (got {_show(x)})")
    x = float(x)
    if not math.isfinite(x):
        raise MessageError("range", f"{name} = {x} is not finite")
    if rng is not None and not rng[0] <= x <= rng[1]:
        raise MessageError("range", f"{name} = {x:g} outside {rng[0]:g}..{rng[1]:g}")
    return x


def _timestamp(d: dict[str, Any], now_ms: int, max_age_ms: int | None) -> int:
    ts = _int(d, "ts")
    if ts > now_ms + MAX_FUTURE_MS:
        raise MessageError(
            "future", f"ts is {(ts - now_ms) / 1000:.0f} s in the future (clock skew?)"
        )
    if max_age_ms is not None and now_ms - ts > max_age_ms:
        raise MessageError(
            "stale", f"ts is {(now_ms - ts) / 1000:.0f} s old (limit {max_age_ms / 1000:g} s)"
        )
    return ts


def parse_telemetry(
    payload: bytes | str,
    site: str,
    readings: set[str] | frozenset[str],
    now_ms: int,
    max_age_ms: int,
) -> TelemetryMsg:
    """A plant's readings; ``readings``: the names accepted (units in their names)."""
    d = _load(payload)
    ts = _timestamp(d, now_ms, max_age_ms)
    seq = _int(d, "seq")
    got_site = _str(d, "site")
    if got_site != site:
        raise MessageError("site", f"telemetry for site {got_site!r}; expected {site!r}")
    values = d.get("values")
    if not isinstance(values, dict) or not values:
        raise MessageError("type", f"values must be a non-empty object (got {_show(values)})")
    quality = d.get("quality", {})
    if not isinstance(quality, dict):
        raise MessageError("type", f"quality must be an object (got {_show(quality)})")
    out: dict[str, float] = {}
    for name, x in values.items():
        if name not in readings:
            allowed = ", ".join(sorted(readings)[:8])
            raise MessageError("unknown", f"unknown reading {name[:60]!r} (e.g. {allowed}, ...)")
        if x is None:
            out[name] = math.nan
            continue
        out[name] = _number(name, x, unit_range(name))
        q = quality.get(name, QUALITY_GOOD)
        if not isinstance(q, str):
            raise MessageError("type", f"quality.{name} must be a string (got {_show(q)})")
        if q != QUALITY_GOOD:
            out[name] = math.nan  # a reading its own source doubts is missing
    src = d.get("src", "")
    return TelemetryMsg(ts, seq, got_site, out, src if isinstance(src, str) else "")


def parse_command(
    payload: bytes | str, setpoints: dict[str, tuple[float, float]], now_ms: int
) -> CommandMsg:
    """A setpoint command; ``setpoints``: name → hard range (values outside are refused)."""
    d = _load(payload)
    ts = _timestamp(d, now_ms, None)
    seq = _int(d, "seq")
    cmd_id = _str(d, "cmd_id", pattern=_ID_RE)
    expires = _int(d, "expires_ts")
    if not ts <= expires <= ts + MAX_TTL_MS:
        raise MessageError(
            "range", f"expires_ts must be between ts and ts + {MAX_TTL_MS // 1000} s "
            f"(got {(expires - ts) / 1000:+.0f} s)"
        )  # fmt: skip
    if expires < now_ms:
        raise MessageError(
            "expired", f"command {cmd_id} expired {(now_ms - expires) / 1000:.1f} s ago"
        )
    mode = _str(d, "mode", MODES)
    if mode != "active":
        raise MessageError("mode", f"command {cmd_id} sent in {mode} mode: only active commands")
    sps = d.get("setpoints")
    if not isinstance(sps, dict) or not sps:
        raise MessageError("type", f"setpoints must be a non-empty object (got {_show(sps)})")
    out = {}
    for name, x in sps.items():
        if name not in setpoints:
            allowed = ", ".join(setpoints)
            raise MessageError("unknown", f"unknown setpoint {name[:60]!r}; allowed: {allowed}")
        out[name] = _number(name, x, setpoints[name])
    model = d.get("model", "")
    return CommandMsg(ts, seq, cmd_id, expires, mode, out, model if isinstance(model, str) else "")


def parse_ack(payload: bytes | str, now_ms: int) -> AckMsg:
    d = _load(payload)
    ts = _timestamp(d, now_ms, None)
    applied = d.get("applied", {})
    if not isinstance(applied, dict):
        raise MessageError("type", f"applied must be an object (got {_show(applied)})")
    reason = d.get("reason", "")
    return AckMsg(
        ts,
        _int(d, "seq"),
        _str(d, "cmd_id", pattern=_ID_RE),
        _str(d, "status", ACK_STATUSES),
        {k: _number(k, x, None) for k, x in applied.items()},
        reason if isinstance(reason, str) else "",
    )


def parse_override(payload: bytes | str, now_ms: int, max_age_ms: int) -> OverrideMsg:
    d = _load(payload)
    ts = _timestamp(d, now_ms, max_age_ms)
    kind = _str(d, "kind", OVERRIDE_KINDS)
    mode = None
    if kind == "mode":
        mode = _str(d, "mode", MODES)
    operator = d.get("operator", "")
    operator = operator if isinstance(operator, str) else ""
    return OverrideMsg(ts, _int(d, "seq"), kind, mode, operator)


class SeqTracker:
    """Refuses duplicate and old messages per publisher.

    A message is old when its ``ts`` is before the last accepted one, or when its ``seq``
    is not above the last one and its ``ts`` has not advanced (a replay or a duplicate).
    A lower ``seq`` with a newer ``ts`` is a publisher that restarted: accepted.
    """

    def __init__(self) -> None:
        self.last: dict[str, tuple[int, int]] = {}

    def check(self, publisher: str, seq: int, ts: int) -> None:
        if publisher and not _ID_RE.match(publisher):
            raise MessageError(
                "range", f"publisher id {publisher[:70]!r}: 1-64 of A-Z a-z 0-9 _.:-"
            )
        last = self.last.get(publisher)
        if last is None and len(self.last) >= MAX_PUBLISHERS:
            raise MessageError(
                "publishers", f"already following {MAX_PUBLISHERS} publishers on this topic"
            )
        if last is not None:
            last_seq, last_ts = last
            if seq == last_seq and ts == last_ts:
                raise MessageError("duplicate", f"duplicate of seq {seq} from {publisher!r}")
            if ts < last_ts or (seq <= last_seq and ts <= last_ts):
                raise MessageError(
                    "old", f"seq {seq} (ts {ts}) is older than the last accepted seq {last_seq} "
                    f"(ts {last_ts}) from {publisher!r}"
                )  # fmt: skip
        self.last[publisher] = (seq, ts)
