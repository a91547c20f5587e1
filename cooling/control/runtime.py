"""The controller runtime: the control loop, independent of any transport.

Each interval: telemetry in → the shield's telemetry checks → the policy → the shield →
a decision out, logged as one structured record. The caller (the MQTT bridge, a
simulation, a test) supplies readings and sends the command, if any.

- **Modes**: ``shadow`` recommends and logs only (no command ever leaves); ``active``
  commands the shielded setpoints.
- **Overrides** (queued from any thread, applied at the start of the next step): hold the
  current setpoints, release the hold, switch mode, force the fallback, clear it.
- **Faults**: a policy that raises, returns non-finite setpoints or takes longer than
  ``policy_timeout_s`` is a fault: the fallback's setpoints apply (through the shield),
  the reason is logged, and the loop goes on.

Every command has passed the shield: there is no other path to ``StepRecord.command``.
"""

from __future__ import annotations

import concurrent.futures
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cooling.control.safety import Reason, SafetyShield, ShieldConfig
from cooling.plant import plant as plantmod
from cooling.plant.plant import Setpoints, Telemetry
from cooling.setpoints import NAMES
from cooling.spec import SiteSpec

MODES = ("shadow", "active")
OVERRIDES = ("hold", "release", "mode", "force_fallback", "clear_fallback")


@dataclass(frozen=True)
class Override:
    """An operator's instruction, taking effect at the next step."""

    kind: str
    mode: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in OVERRIDES:
            raise ValueError(f"unknown override {self.kind!r}; allowed: {', '.join(OVERRIDES)}")
        if self.kind == "mode" and self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)} (got {self.mode!r})")


@dataclass(frozen=True)
class StepRecord:
    """The decision log's record of one interval."""

    ts: float
    mode: str
    proposed: dict[str, float]  # what the policy proposed (NaN where it failed)
    recommended: dict[str, float] | None  # the shielded setpoints (None: plant's own)
    command: dict[str, float] | None  # what is sent: None in shadow mode or when handed back
    reasons: tuple[Reason, ...]
    fallback: bool
    hold: bool
    policy_fault: str | None
    predicted_inlet_max_c: float
    loop_ms: float

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["reasons"] = [{"code": r.code, "message": r.message} for r in self.reasons]
        return d


def _as_dict(vector: np.ndarray | None) -> dict[str, float] | None:
    if vector is None:
        return None
    return {n: float(v) for n, v in zip(NAMES, vector, strict=True)}


@dataclass
class Runtime:
    """The control loop of one plant."""

    spec: SiteSpec
    policy: Callable[[Telemetry], Setpoints]
    mode: str = "shadow"
    shield_config: ShieldConfig = field(default_factory=ShieldConfig)
    policy_timeout_s: float = 2.0
    log_size: int = 10_000
    #: in active mode, take the setpoints in force from the readings' ``<name>_set`` (so
    #: that ramp limits start from what the plant really runs, e.g. after it fell back)
    follow_plant_setpoints: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)} (got {self.mode!r})")
        self.shield = SafetyShield(self.spec, self.shield_config)
        self.hold = False
        self.force_fallback = False
        self.log: deque[StepRecord] = deque(maxlen=self.log_size)
        self._overrides: deque[Override] = deque()
        self._lock = threading.Lock()
        self._executor = concurrent.futures.ThreadPoolExecutor(1, "policy")

    def override(self, override: Override) -> None:
        """Queue an override (thread-safe); it takes effect at the next step."""
        with self._lock:
            self._overrides.append(override)

    def _apply_overrides(self) -> None:
        with self._lock:
            pending = list(self._overrides)
            self._overrides.clear()
        for ov in pending:
            if ov.kind == "hold":
                self.hold = True
            elif ov.kind == "release":
                self.hold = False
            elif ov.kind == "mode":
                self.mode = ov.mode  # type: ignore[assignment]
            elif ov.kind == "force_fallback":
                self.force_fallback = True
            elif ov.kind == "clear_fallback":
                self.force_fallback = False

    def _propose(self, telemetry: Telemetry) -> tuple[np.ndarray, str | None]:
        """Run the policy with a time limit; a fault gives NaNs and its reason."""
        future = self._executor.submit(self.policy, telemetry)
        try:
            out = future.result(timeout=self.policy_timeout_s)
        except concurrent.futures.TimeoutError:
            # abandon the stuck call: a fresh worker serves the next step
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = concurrent.futures.ThreadPoolExecutor(1, "policy")
            return np.full(
                len(NAMES), np.nan
            ), f"policy took longer than {self.policy_timeout_s:g} s"
        except Exception as exc:  # any policy failure is a fault, never a crash
            return np.full(len(NAMES), np.nan), f"policy raised {type(exc).__name__}: {exc}"
        vector = np.asarray(getattr(out, "data", out), dtype=np.float64).reshape(-1)
        if vector.size != len(NAMES):
            return np.full(
                len(NAMES), np.nan
            ), f"policy returned {vector.size} values, expected {len(NAMES)}"
        if not np.isfinite(vector).all():
            return vector, "policy returned non-finite setpoints"
        return vector, None

    def step(self, reading: dict[str, float], ts: float | None = None) -> StepRecord:
        """One interval: returns the decision record (``command`` is what to send)."""
        start = time.perf_counter()
        ts = time.time() if ts is None else ts
        self._apply_overrides()
        telemetry = Telemetry(np.full((1, len(plantmod.TELEMETRY_NAMES)), np.nan))
        for name, value in reading.items():
            if name in plantmod.TELEMETRY_NAMES and isinstance(value, int | float):
                telemetry[name][:] = value
        zones = [reading.get(f"zone{z}_inlet_max_c", math.nan) for z in range(len(self.spec.zones))]
        telemetry.inlet_max_c[:] = max(zones) if all(map(math.isfinite, zones)) else math.nan
        # a reading the shield rejects but runs on without (outdoor dry-bulb) reaches the
        # policy as missing (its features then read the typical year), never as a glitch;
        # without a critical one the shield hands control back whatever the policy says
        for name in self.shield.rejected_optional(reading, ts):
            telemetry[name][:] = math.nan
        if self.follow_plant_setpoints and self.mode == "active":
            sh = self.shield
            for j, name in enumerate(NAMES):
                in_force = reading.get(f"{name}_set")
                if isinstance(in_force, int | float) and math.isfinite(in_force):
                    if name == "economizer":
                        in_force = 1.0 if in_force >= 0.5 else 0.0
                    # the ramp starts from what the plant runs, never from outside the limits
                    sh.last_applied[j] = min(max(float(in_force), sh.lo[j]), sh.hi[j])
        for j, name in enumerate(NAMES):  # the setpoints in force are the shield's last
            telemetry[f"{name}_set"][:] = self.shield.last_applied[j]

        extra: list[Reason] = []
        fault = None
        if self.force_fallback:
            proposed = np.full(len(NAMES), np.nan)
            extra.append(Reason("FORCED_FALLBACK", "operator forced the fallback"))
        elif self.hold:
            proposed = self.shield.last_applied.copy()
            extra.append(Reason("HOLD", "operator hold: the current setpoints are kept"))
        else:
            proposed, fault = self._propose(telemetry)
            if fault:
                extra.append(Reason("POLICY_FAULT", fault + ": the fallback applies"))
        decision = self.shield.decide(proposed, reading, ts)
        fallback = decision.fallback or self.force_fallback or fault is not None
        if fallback and self.shield.config.fallback == "none" and decision.applied is not None:
            if self.force_fallback or fault:
                recommended = None  # no command: the plant's own controls hold
            else:
                recommended = decision.applied
        else:
            recommended = decision.applied
        command = recommended if self.mode == "active" else None
        record = StepRecord(
            ts=ts,
            mode=self.mode,
            proposed=_as_dict(proposed),  # type: ignore[arg-type]
            recommended=_as_dict(recommended),
            command=_as_dict(command),
            reasons=tuple(extra) + decision.reasons,
            fallback=fallback,
            hold=self.hold,
            policy_fault=fault,
            predicted_inlet_max_c=decision.predicted_inlet_max_c,
            loop_ms=(time.perf_counter() - start) * 1000.0,
        )
        self.log.append(record)
        return record

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
