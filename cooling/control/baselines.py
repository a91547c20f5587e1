"""Baseline controllers: telemetry in, setpoints out.

Every controller is reset for N plants, then called once per control interval with the
plant telemetry of the last interval (a ``Telemetry`` of N plants: what a live plant
reports) and returns the ``Setpoints`` of N plants for the next one. The plant's full
setpoint vector is returned; sites without an economizer ignore that entry.

Each controller respects the site's setpoint ranges and ramp limits (``ramp_per_step``),
as its building-automation counterpart would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from cooling.plant.plant import TELEMETRY_NAMES, Setpoints, Telemetry
from cooling.setpoints import NAMES, fixed_vector
from cooling.spec import SiteSpec
from cooling.units import CP_WATER_KJ_KG_K

#: Telemetry columns of the setpoints in force, in the plant's setpoint order.
SET_COLUMNS = [TELEMETRY_NAMES.index(f"{n}_set") for n in NAMES]


@dataclass(frozen=True)
class StepContext:
    """What a model-based controller may know beyond telemetry (the oracle uses it)."""

    state: Any  # PlantState of the N plants
    params: Any  # PlantParams
    traces: Any  # simulation.Traces (the true future disturbances)
    step: int  # index of the interval about to be simulated


class Controller(Protocol):
    name: str

    def reset(self, n: int) -> None: ...

    def __call__(self, telemetry: Telemetry, context: StepContext | None = None) -> Setpoints: ...


def _limits(spec: SiteSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-vector lower/upper bounds and ramp limits (a setpoint the site does not expose
    is pinned at its fixed value: no economizer, the design CRAH airflow ratio)."""
    lo, hi, ramp = fixed_vector(spec), fixed_vector(spec), np.full(len(NAMES), 1.0)
    for j, name in enumerate(NAMES):
        r = getattr(spec.setpoints, name)
        if r is not None:
            lo[j], hi[j], ramp[j] = r.min, r.max, r.ramp_per_step
    return lo, hi, ramp


class _Base:
    name = "base"

    def __init__(self, spec: SiteSpec):
        self.spec = spec
        self.lo, self.hi, self.ramp = _limits(spec)
        self.fixed = fixed_vector(spec)
        self.current = self.fixed[None, :].copy()

    def reset(self, n: int) -> None:
        self.current = np.tile(self.fixed, (n, 1))

    def _sync(self, telemetry: Telemetry) -> None:
        """Start from the setpoints in force (as the plant reports them), where known."""
        n = len(telemetry)
        if self.current.shape[0] != n:
            self.reset(n)
        in_force = telemetry.data[:, SET_COLUMNS]
        known = np.isfinite(in_force).all(axis=1)
        self.current[known] = np.clip(in_force[known], self.lo, self.hi)

    def _move_towards(self, target: np.ndarray) -> Setpoints:
        """Ramp-limited, range-clipped move of the current setpoints towards ``target``."""
        step = np.clip(target - self.current, -self.ramp, self.ramp)
        self.current = np.clip(self.current + step, self.lo, self.hi)
        return Setpoints(self.current.copy())


class FixedController(_Base):
    """Legacy operation: constant setpoints from the site spec's ``fixed_setpoints``
    (typically chilled water 7 °C, supply air 18 °C, condenser water 29.4 °C (85 °F),
    pumps at full speed, economizer enabled where fitted)."""

    name = "fixed"

    def __call__(self, telemetry: Telemetry, context: StepContext | None = None) -> Setpoints:
        return Setpoints(np.broadcast_to(self.fixed, (len(telemetry), self.fixed.size)))


class RuleController(_Base):
    """The best practice a good operator runs, one rule a setpoint:

    - **supply air**: trim and respond on the hottest rack inlet, towards 25 °C
      (2 K below the ASHRAE TC 9.9 recommended 27 °C): raise 0.25 K a step while the
      hottest inlet is below 24.5 °C, lower 1 K a step once above 25.5 °C
      (ASHRAE Guideline 36 §5.1.14 trim-and-respond on the critical zone);
    - **chilled-water supply**: reset with load, the warmest water the coils can use:
      supply air minus a coil approach of 4 K at no load to 6 K at full load, with a
      trim-and-respond correction that responds 0.5 K colder each interval the supply
      air is not met (more than 0.3 K above its setpoint) and trims 0.1 K back each
      interval it is, never above the load reset nor below what the setpoint can reach
      that interval (no wind-up) (Guideline 36 §5.1.14 trim and
      respond, §5.20.5 CHW supply reset on plant demand; ASHRAE 90.1 §6.5.4.4);
    - **condenser water**: wet-bulb plus the tower's design approach, floored at the
      chillers' minimum entering temperature (ASHRAE 90.1 §6.5.5.2 / Taylor's
      near-optimal condenser-water reset);
    - **chilled-water pump**: variable flow, the speed that carries the coil load at the
      design ΔT plus 10 % (ASHRAE 90.1 §6.5.4.2 variable-flow pumping);
    - **economizer**: enabled where fitted; the plant's own G36 logic switches it on when
      the wet-bulb allows (T_CHWR − T_pred > 2 K) and off again (< 1 K);
    - **CRAH air flow**: held at the design ratio (the commissioned cold-aisle pressure)
      unless the site exposes ``crah_airflow``. Then trim and respond on the same hottest
      inlet: trim 0.02 a step while it is not above 25.5 °C (by the fans' cube law, air
      is the cheapest thing to save; the supply-air rule then lowers the supply air to
      hold the inlet), respond 0.1 a step, beside the supply air, once it is above (the
      trim and respond of Guideline 36's supply-fan static-pressure reset; PHYSICS.md
      §7: fans ≤ 10-20 %/min). Of the variants tried on the training weeks (responding
      from 25.5 or 26 °C, by 0.05 or 0.1), this one used the least cooling energy on
      the three sites together and saws the supply air least.
    """

    name = "rules"
    inlet_target_c = 25.0
    chw_respond_k = -0.5  # colder, per interval the supply air is not met
    chw_trim_k = 0.1  # back towards the load reset, per interval it is
    chw_correction_min_k = -6.0
    fan_trim = 0.02  # air-flow fraction a step, while the hottest inlet is not above 25.5 °C
    fan_respond = 0.1  # a step, while it is

    def __init__(self, spec: SiteSpec):
        super().__init__(spec)
        self.chw_correction_k = np.zeros(1)

    def reset(self, n: int) -> None:
        super().reset(n)
        self.chw_correction_k = np.zeros(n)

    def __call__(self, telemetry: Telemetry, context: StepContext | None = None) -> Setpoints:
        t = telemetry
        n = len(t)
        self._sync(t)
        if not np.isfinite(t.inlet_max_c).all():
            return self._move_towards(np.tile(self.fixed, (n, 1)))
        target = self.current.copy()
        inlet = t.inlet_max_c
        sa = self.current[:, 1]
        sa_target = np.where(
            inlet > self.inlet_target_c + 0.5,
            sa - 1.0,
            np.where(inlet < self.inlet_target_c - 0.5, sa + 0.25, sa),
        )
        target[:, 1] = sa_target
        load = np.clip(t.it_kw / self.spec.it.capacity_kw, 0.0, 1.0)
        chw_reset = sa_target - (4.0 + 2.0 * load)
        not_met = t.supply_air_c > sa + 0.3
        correction = np.clip(
            self.chw_correction_k + np.where(not_met, self.chw_respond_k, self.chw_trim_k),
            self.chw_correction_min_k,
            0.0,
        )
        # anti-windup: never colder than the setpoint can reach this interval
        reachable = np.maximum(self.lo[0], self.current[:, 0] - self.ramp[0])
        self.chw_correction_k = np.maximum(correction, np.minimum(reachable - chw_reset, 0.0))
        target[:, 0] = chw_reset + self.chw_correction_k
        cw = t.outdoor_wet_bulb_c + self.spec.tower.design_approach_k
        target[:, 2] = np.maximum(cw, self.spec.chillers.min_ecwt_c)
        design_kg_s = self.spec.chw_design_flow_kg_s
        dt_design = self.spec.chw_loop.design_delta_t_k
        target[:, 3] = 1.1 * t.q_coil_kw / (CP_WATER_KJ_KG_K * dt_design * design_kg_s)
        target[:, 4] = 1.0 if self.spec.economizer is not None else 0.0
        target[:, 5] = self._fan_target(t)
        return self._move_towards(target)

    def _fan_target(self, t: Telemetry) -> np.ndarray:
        if self.spec.setpoints.crah_airflow is None:
            return np.full(len(t), self.fixed[5])  # the commissioned cold-aisle pressure
        fan = self.current[:, 5]
        hot = t.inlet_max_c > self.inlet_target_c + 0.5
        return np.where(hot, fan + self.fan_respond, fan - self.fan_trim)


class PIDController(_Base):
    """A PI loop holding the hottest rack inlet at ``target_c`` by moving supply air.

    Discrete PI with conditional-integration anti-windup; other setpoints stay at the
    site's fixed values. Gains: Kp = 0.5 K/K, Ti = 15 min (the inlet follows supply air
    within one or two intervals).
    """

    name = "pid"

    def __init__(
        self, spec: SiteSpec, target_c: float = 25.0, kp: float = 0.5, ti_s: float = 900.0
    ):
        super().__init__(spec)
        self.target_c = target_c
        self.kp = kp
        self.ki = kp * spec.interval_s / ti_s
        self.integral = np.zeros(1)

    def reset(self, n: int) -> None:
        super().reset(n)
        self.integral = np.zeros(n)

    def __call__(self, telemetry: Telemetry, context: StepContext | None = None) -> Setpoints:
        n = len(telemetry)
        self._sync(telemetry)
        inlet = telemetry.inlet_max_c
        if not np.isfinite(inlet).all():
            return self._move_towards(np.tile(self.fixed, (n, 1)))
        error = self.target_c - inlet
        base = self.fixed[1]
        unclipped = base + self.kp * error + self.ki * (self.integral + error)
        # integrate only while the output is not saturated in the error's direction
        saturated = ((unclipped > self.hi[1]) & (error > 0)) | (
            (unclipped < self.lo[1]) & (error < 0)
        )
        self.integral = np.where(saturated, self.integral, self.integral + error)
        target = np.tile(self.fixed, (n, 1))
        target[:, 1] = base + self.kp * error + self.ki * self.integral
        return self._move_towards(target)


CONTROLLERS: dict[str, Callable[[SiteSpec], Controller]] = {
    "fixed": FixedController,
    "rules": RuleController,
    "pid": PIDController,
}


def make(name: str, spec: SiteSpec) -> Controller:
    """A controller by name: the baselines here, ``oracle``, or a test adversary."""
    from cooling.control.adversaries import ADVERSARIES
    from cooling.control.oracle import OracleController

    every: dict[str, Callable[[SiteSpec], Controller]] = {
        **CONTROLLERS,
        "oracle": OracleController,
        **ADVERSARIES,
    }
    try:
        return every[name](spec)
    except KeyError:
        raise ValueError(f"unknown controller {name!r}; available: {', '.join(every)}") from None
