"""The safety shield: between any policy and the plant, every interval.

Layers, in order (after the safety mechanisms of Google/DeepMind's deployed cooling
controllers, PHYSICS.md §8):

1. **Telemetry checks.** Each reading the shield relies on is rejected when missing,
   non-finite, older than ``stale_after_s``, outside its physical range, or changing
   faster than physics allows. A rejected critical reading hands control back to the
   plant's own controls (no command) at once; control is taken back only after every
   reading has been good for ``recover_after_s``.
2. **Hard limits.** Non-finite proposals are replaced by the fallback's; every setpoint
   is clipped to the site's range; condenser water never below the chillers' minimum
   entering temperature; the economizer command never flips within its hold time (the
   plant's staging has its own anti-short-cycle waits).
3. **Rate limits.** No setpoint moves more than its ``ramp_per_step`` from the last
   applied value.
4. **Predicted envelope.** A model of the plant (the site spec's parameters made
   ``robust_fraction`` worse where it matters, never the plant's own; started from a
   state estimated from telemetry alone; corrected by its own recent prediction error)
   predicts the hottest rack inlet over ``horizon_steps``
   intervals with the setpoints held, plus an uncertainty margin proportional to its
   recent mean absolute prediction error (the uncertainty gate of PHYSICS.md §8). A
   proposal predicted to come within ``margin_k`` of the recommended limit is pulled
   back towards the fallback's setpoints: candidates move all setpoints together, or
   each alone, by the fractions of ``line_search`` (0.9, 0.8, …, 0.1 of the way from
   the fallback), and of those predicted safe the one the site spec's nominal plant
   predicts to draw the least facility power applies (``pull_back="cheapest"``;
   ``"together"``: all setpoints together only, 0.75, 0.5 and 0.25 of the way, the
   first predicted safe: the shield until 2026-11-25). If none is, the fallback applies
   while it is predicted within the limit itself, and otherwise the most cooling the
   ramp limits allow.
5. **Fallback.** The site's rule-based controller (``fallback="rules"``), or no command
   at all so that the plant's own controls hold (``fallback="none"``).

Every decision returns the proposed and the applied setpoints and the reasons (a code
and a readable sentence) for each change. The shield sees only telemetry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cooling.control.baselines import RuleController, _limits
from cooling.plant import plant as plantmod
from cooling.plant import racks
from cooling.plant.plant import Setpoints, Telemetry
from cooling.setpoints import NAMES, fixed_vector
from cooling.spec import SiteSpec
from cooling.units import CP_AIR_KJ_KG_K

#: How the shield pulls back a proposal it predicts unsafe (``ShieldConfig.pull_back``).
PULL_BACKS = ("cheapest", "together")
#: Each pull-back's default fractions of the way from the fallback (``line_search``).
LINE_SEARCH: dict[str, tuple[float, ...]] = {
    "cheapest": (0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1),
    "together": (0.75, 0.5, 0.25),
}


@dataclass(frozen=True)
class ShieldConfig:
    """Tuning of the shield; the defaults suit a 5-minute interval."""

    stale_after_s: float = 600.0  # a reading older than this is stale
    recover_after_s: float = 900.0  # good readings needed before taking control back
    horizon_steps: int = 6  # predicted-envelope horizon (30 min at 5 min)
    margin_k: float = 0.5  # predicted hottest inlet must stay this far below 27 °C
    fallback: str = "rules"  # "rules" or "none" (the plant's own controls hold)
    economizer_hold_s: float = 1200.0  # ASHRAE G36 minimum economizer on/off time
    # a proposal predicted too hot: "cheapest", all setpoints together or each alone, the
    # candidate predicted safe that the nominal plant predicts to draw the least power;
    # "together", all setpoints together, the first fraction predicted safe (the shield
    # until 2026-11-25)
    pull_back: str = "cheapest"
    # the fractions of the way from the fallback that a proposal is pulled back to;
    # None: the pull-back's own (LINE_SEARCH; see ``fractions``)
    line_search: tuple[float, ...] | None = None
    bias_gain: float = 0.3  # weight of the latest prediction error in the correction
    uncertainty_gain: float = 1.5  # margin added per K of mean absolute prediction error
    robust_fraction: float = 0.1  # the model's plant is this much worse than the spec's

    def __post_init__(self) -> None:
        if self.fallback not in ("rules", "none"):
            raise ValueError(f"fallback must be 'rules' or 'none' (got {self.fallback!r})")
        if self.horizon_steps < 1:
            raise ValueError("horizon_steps must be >= 1")
        if self.pull_back not in PULL_BACKS:
            raise ValueError(
                f"pull_back must be one of {', '.join(PULL_BACKS)} (got {self.pull_back!r})"
            )
        if self.line_search is not None:
            self._check_line_search()
        rf = self.robust_fraction
        if isinstance(rf, bool) or not isinstance(rf, int | float) or not 0.0 <= rf <= 0.5:
            raise ValueError(
                "robust_fraction must be a number in 0..0.5, how much worse than its spec the "
                f"shield's model takes the plant (got {rf!r})"
            )

    def _check_line_search(self) -> None:
        given = self.line_search
        try:  # a list (from JSON or YAML) is as good as a tuple; the config stays hashable
            ls = tuple(given) if given is not None else ()
        except TypeError:
            ls = ()
        if (
            not ls
            or any(
                isinstance(a, bool) or not isinstance(a, int | float) or not 0.0 < a < 1.0
                for a in ls
            )
            or any(later >= earlier for later, earlier in zip(ls[1:], ls, strict=False))
        ):
            raise ValueError(
                "line_search must be fractions strictly between 0 and 1, largest first, "
                f"e.g. (0.75, 0.5, 0.25) (got {given!r})"
            )
        object.__setattr__(self, "line_search", ls)  # frozen: normalised once, here

    @property
    def fractions(self) -> tuple[float, ...]:
        """The line search's fractions: ``line_search``, or the pull-back's own."""
        return self.line_search or LINE_SEARCH[self.pull_back]


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True)
class Decision:
    """What the shield did with one proposal."""

    proposed: np.ndarray  # the policy's setpoints (full vector, may be non-finite)
    applied: np.ndarray | None  # the setpoints to send; None: no command (plant's own)
    reasons: tuple[Reason, ...]
    fallback: bool  # control handed to the fallback (rules or the plant's own)
    predicted_inlet_max_c: float

    @property
    def intervened(self) -> bool:
        return bool(self.reasons)


#: Readings the shield checks: (physical range, largest change per second).
READINGS: dict[str, tuple[tuple[float, float], float]] = {
    "supply_air_c": ((0.0, 60.0), 10.0 / 300.0),
    "return_air_c": ((0.0, 80.0), 15.0 / 300.0),
    "chw_supply_c": ((0.0, 40.0), 10.0 / 300.0),
    "chw_return_c": ((0.0, 50.0), 10.0 / 300.0),
    "cw_supply_c": ((-5.0, 50.0), 10.0 / 300.0),
    "outdoor_wet_bulb_c": ((-50.0, 40.0), 5.0 / 300.0),
    "outdoor_dry_bulb_c": ((-60.0, 60.0), 8.0 / 300.0),
    "chillers_on": ((0.0, 100.0), 1.0),
    "economizer_on": ((0.0, 1.0), 1.0),
}


def _readings_for(spec: SiteSpec) -> dict[str, tuple[tuple[float, float], float]]:
    out = dict(READINGS)
    for z in range(len(spec.zones)):
        out[f"zone{z}_inlet_max_c"] = ((0.0, 70.0), 10.0 / 300.0)
        out[f"zone{z}_inlet_mean_c"] = ((0.0, 70.0), 10.0 / 300.0)
    # IT power: 0 to 1.5 × capacity, at most half the capacity per interval
    out["it_kw"] = ((0.0, 1.5 * spec.it.capacity_kw), 0.5 * spec.it.capacity_kw / 300.0)
    return out


def pessimistic_params(spec: SiteSpec, fraction: float) -> plantmod.PlantParams:
    """The shield's model: the site spec's plant made ``fraction`` worse where it matters.

    Coil and tower effectiveness and chiller capacity scaled by (1 − f): the capacity
    limits, where a plant falls off a cliff (supply air no longer met), are taken at the
    worst of the band. Smooth errors (recirculation, thermal masses, sensors) are left to
    the online correction, which learns them from the shield's own prediction errors.
    """
    from cooling.plant import chiller, crah, tower

    params = plantmod.params_from_spec(spec)
    p = params.data[0]
    worse = 1.0 - fraction
    p[plantmod.OCR + crah.HA_AIR_KW_K] *= worse
    p[plantmod.OCR + crah.HA_WATER_KW_K] *= worse
    p[plantmod.OTW + tower.LG_DESIGN] *= 1.0 + fraction  # higher LG: warmer tower water
    p[plantmod.OCH + chiller.Q_REF_KW] *= worse
    return params


@dataclass
class _Memory:
    value: float = math.nan
    ts: float = -math.inf


@dataclass
class SafetyShield:
    """The shield of one plant. Call :meth:`decide` once per interval."""

    spec: SiteSpec
    config: ShieldConfig = field(default_factory=ShieldConfig)

    def __post_init__(self) -> None:
        self.lo, self.hi, self.ramp = _limits(self.spec)
        self.lo[2] = max(self.lo[2], self.spec.chillers.min_ecwt_c)
        self.readings = _readings_for(self.spec)
        self.critical = [n for n in self.readings if n not in ("outdoor_dry_bulb_c",)]
        self.params = pessimistic_params(self.spec, self.config.robust_fraction)
        # the spec's own plant: the power a candidate is expected to draw, for the pull-back
        # and the savings a recommendation is expected to bring (never for safety)
        self.nominal = plantmod.params_from_spec(self.spec)
        self.rules = RuleController(self.spec)
        self.rules.reset(1)
        self.limit_c = self.spec.envelope.recommended_high_c - self.config.margin_k
        self.bms = fixed_vector(self.spec)
        self.reset()

    def reset(self) -> None:
        self.rules.reset(1)
        self.memory = {n: _Memory() for n in self.readings}
        self.last_applied: np.ndarray = self.bms.copy()
        self.econ_changed_ts = -math.inf
        self.handed_back = False
        self.good_since = -math.inf
        self.bias_k = 0.0
        self.spread_k = 0.0
        self.last_prediction = math.nan
        self.interventions = 0
        self.fallback_steps = 0

    # -- 1. telemetry ---------------------------------------------------------------
    def _problem(self, name: str, reading: dict[str, float], ts: float) -> Reason | None:
        """Why this reading is not to be trusted (against the last good one), or None."""
        (lo, hi), rate = self.readings[name]
        value = reading.get(name)
        mem = self.memory[name]
        reading_ts = reading.get(f"{name}_ts", ts)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return Reason("TELEMETRY_MISSING", f"{name} missing")
        if not math.isfinite(value):
            return Reason("TELEMETRY_NONFINITE", f"{name} = {value} is not finite")
        if ts - reading_ts > self.config.stale_after_s:
            age = f"{ts - reading_ts:.0f} s old (limit {self.config.stale_after_s:g} s)"
            return Reason("TELEMETRY_STALE", f"{name} is {age}")
        if not lo <= value <= hi:
            return Reason("TELEMETRY_RANGE", f"{name} = {value:g} outside {lo:g}..{hi:g}")
        if (
            math.isfinite(mem.value)
            and reading_ts > mem.ts
            and abs(value - mem.value) > rate * (reading_ts - mem.ts)
        ):
            return Reason(
                "TELEMETRY_RATE",
                f"{name} moved {value - mem.value:+.3g} in {reading_ts - mem.ts:.0f} s, "
                f"faster than physics allows ({rate * 300:.3g} per 5 min)",
            )
        return None

    def rejected_optional(self, reading: dict[str, float], ts: float) -> list[str]:
        """The readings the shield runs on without (not critical) that :meth:`check_telemetry`
        would reject now; asked before the policy runs, so nothing is kept."""
        optional = (n for n in self.readings if n not in self.critical)
        return [name for name in optional if self._problem(name, reading, ts) is not None]

    def check_telemetry(self, reading: dict[str, float], ts: float) -> list[Reason]:
        """Validate each reading; keep the good ones; the reasons for the rejected ones."""
        reasons = []
        for name in self.readings:
            problem = self._problem(name, reading, ts)
            if problem is None:
                mem = self.memory[name]
                mem.value, mem.ts = float(reading[name]), float(reading.get(f"{name}_ts", ts))
            elif name in self.critical:
                reasons.append(problem)
        return reasons

    def _telemetry_frame(self) -> Telemetry:
        t = Telemetry(np.full((1, len(plantmod.TELEMETRY_NAMES)), np.nan))
        for name, mem in self.memory.items():
            t[name][:] = mem.value
        for j, name in enumerate(NAMES):  # the setpoints in force: what the shield applied
            t[f"{name}_set"][:] = self.last_applied[j]
        inlets = [self.memory[f"zone{z}_inlet_max_c"].value for z in range(len(self.spec.zones))]
        t.inlet_max_c[:] = max(inlets)
        # the rules' pump reset needs the coil load: estimate it from IT power
        t.q_coil_kw[:] = self.memory["it_kw"].value
        return t

    # -- 4. the plant model -------------------------------------------------------------
    def _estimated_state(self) -> plantmod.PlantState:
        m = {n: mem.value for n, mem in self.memory.items()}
        p = self.params.data[0]
        x = np.zeros((1, len(plantmod.STATE_NAMES)))
        st = plantmod.PlantState(x)
        for name in ("chw_supply_c", "chw_return_c", "cw_supply_c", "supply_air_c"):
            st[name][:] = m[name]
        st.chillers_on[:] = round(m["chillers_on"])
        st.stage_timer_s[:] = self.spec.chillers.stage_wait_s
        st.economizer_on[:] = m["economizer_on"]
        st.economizer_timer_s[:] = 0.0
        sv = p[plantmod.OSV : plantmod.OSV + racks.SERVER_RECORD_SIZE]
        for z in range(plantmod.MAX_ZONES):
            o = plantmod.OZN + z * racks.ZONE_RECORD_SIZE
            if z >= len(self.spec.zones):
                st[f"zone{z}_exhaust_c"][:] = m["supply_air_c"]
                continue
            # the recirculation at the CRAH air flow the shield last applied
            r = racks.recirculation_at(p[o + racks.RECIRCULATION], self.last_applied[5])
            inlet = m[f"zone{z}_inlet_mean_c"]
            speed = racks.fan_speed(sv, inlet)
            air = p[o + racks.AIR_DESIGN_KG_S] * speed / sv[racks.FAN_MIN_SPEED]
            zone_kw = m["it_kw"] * p[o + racks.RATED_KW] / self.spec.it.capacity_kw
            # steady state: exhaust = supply air + zone heat / (ṁ c_p (1 − r))
            st[f"zone{z}_exhaust_c"][:] = m["supply_air_c"] + zone_kw / (
                air * CP_AIR_KJ_KG_K * (1.0 - r)
            )
        return st

    def predict_inlet_max(self, candidates: np.ndarray) -> np.ndarray:
        """Predicted hottest inlet [°C] over the horizon for each candidate (K, setpoints)."""
        k = candidates.shape[0]
        state = plantmod.PlantState(np.repeat(self._estimated_state().data, k, axis=0))
        params = self.params.repeat(k)
        m = self.memory
        dist = plantmod.Disturbances(
            np.tile(
                [m["outdoor_dry_bulb_c"].value, m["outdoor_wet_bulb_c"].value, m["it_kw"].value],
                (k, 1),
            )
        )
        if not math.isfinite(m["outdoor_dry_bulb_c"].value):
            dist.dry_bulb_c[:] = m["outdoor_wet_bulb_c"].value
        sps = Setpoints(candidates)
        worst = np.full(k, -np.inf)
        first = np.full(k, np.nan)
        for h in range(self.config.horizon_steps):
            state, tel = plantmod.step(state, sps, dist, params, check=False)
            worst = np.maximum(worst, tel.inlet_max_c)
            if h == 0:
                first = tel.inlet_max_c.copy()
        self._first_step = first
        return worst + self.bias_k + self.config.uncertainty_gain * self.spread_k

    def predict_facility_kw(self, candidates: np.ndarray, steps: int = 12) -> np.ndarray:
        """Facility power [kW] for each candidate (K, setpoints), held for ``steps`` intervals.

        The state estimated from telemetry as for :meth:`predict_inlet_max`, but the site
        spec's nominal plant (an expectation, where the envelope check is pessimistic), with
        today's weather and load held, no side effects: the power once the plant has settled
        on the candidate, for the choice among the pull-backs predicted safe and the savings
        a recommendation is expected to bring.
        """
        k = candidates.shape[0]
        state = plantmod.PlantState(np.repeat(self._estimated_state().data, k, axis=0))
        m = self.memory
        dry = m["outdoor_dry_bulb_c"].value
        wet = m["outdoor_wet_bulb_c"].value
        dist = plantmod.Disturbances(
            np.tile([dry if math.isfinite(dry) else wet, wet, m["it_kw"].value], (k, 1))
        )
        params = self.nominal.repeat(k)  # an expectation, not a safety margin: the spec's plant
        for _ in range(steps):  # held until the plant has settled
            state, tel = plantmod.step(state, Setpoints(candidates), dist, params, check=False)
        return tel.facility_kw.copy()

    # -- the decision ------------------------------------------------------------------
    def _no_command(
        self, proposed: np.ndarray, reasons: list[Reason], predicted: float = math.nan
    ) -> Decision:
        self.fallback_steps += 1
        self.interventions += 1
        self.last_applied = self.bms.copy()  # the plant's own setpoints hold
        return Decision(proposed, None, tuple(reasons), True, predicted)

    def decide(self, proposed: np.ndarray, reading: dict[str, float], ts: float) -> Decision:
        """Check telemetry, limit the proposal and verify it against the envelope."""
        proposed = np.asarray(proposed, dtype=np.float64)
        if proposed.size != len(NAMES):
            raise ValueError(
                f"a proposal is the plant's full setpoint vector, {len(NAMES)} values "
                f"({', '.join(NAMES)}); got {proposed.size}"
            )
        proposed = proposed.reshape(len(NAMES))
        reasons = self.check_telemetry(reading, ts)
        if reasons:
            self.handed_back = True
            self.good_since = math.inf
            reasons.append(Reason("HAND_BACK", "telemetry rejected: the plant's own controls hold"))
            return self._no_command(proposed, reasons)
        if self.handed_back:
            if self.good_since == math.inf:
                self.good_since = ts
            if ts - self.good_since < self.config.recover_after_s:
                waited = ts - self.good_since
                return self._no_command(
                    proposed,
                    [Reason("RECOVERING", f"telemetry good for {waited:.0f} s of "
                            f"{self.config.recover_after_s:g} s before taking control back")],
                )  # fmt: skip
            self.handed_back = False
            self._update_bias(None)
            self.last_prediction = math.nan

        measured = max(
            self.memory[f"zone{z}_inlet_max_c"].value for z in range(len(self.spec.zones))
        )
        self._update_bias(measured)
        tel = self._telemetry_frame()
        fallback = self.rules(tel).data[0]
        if self.config.fallback == "none":
            fallback = self.bms.copy()
        safe_fallback = self._limit(fallback, [], ts)

        limited_reasons: list[Reason] = []
        candidate = proposed.copy()
        bad = ~np.isfinite(candidate)
        if bad.any():
            names = ", ".join(NAMES[j] for j in np.flatnonzero(bad))
            limited_reasons.append(
                Reason("NONFINITE", f"non-finite {names} replaced by the fallback's")
            )
            candidate[bad] = fallback[bad]
        candidate = self._limit(candidate, limited_reasons, ts)

        # candidates: the proposal pulled back towards the fallback (all setpoints together
        # and, with pull_back="cheapest", each alone), the fallback, then the most cooling
        fractions = self.config.fractions
        rows_list = [candidate]
        labels = [""]
        for a in fractions:
            rows_list.append(a * candidate + (1 - a) * safe_fallback)
            labels.append(f"pulled back to {a:.0%} of the way from the fallback")
        if self.config.pull_back == "cheapest":
            for j in (0, 1, 2, 3, 5):  # each setpoint but the economizer's on/off
                if abs(candidate[j] - safe_fallback[j]) <= 1e-9:
                    continue
                for a in (*fractions, 0.0):
                    row = candidate.copy()
                    row[j] = a * candidate[j] + (1 - a) * safe_fallback[j]
                    rows_list.append(row)
                    labels.append(
                        f"{NAMES[j]} pulled back to {a:.0%} of the way from the fallback's "
                        f"{safe_fallback[j]:.3g}"
                        if a
                        else f"{NAMES[j]} set to the fallback's {safe_fallback[j]:.3g}"
                    )
        i_fallback = len(rows_list)
        rows = np.array([*rows_list, safe_fallback, self._max_cooling()])
        rows[:i_fallback, 4] = candidate[4]
        rows[i_fallback:, 4] = safe_fallback[4]
        labels.append("the rule-based fallback applies")
        predicted = self.predict_inlet_max(rows)
        safe = predicted <= self.limit_c
        search_ok = np.flatnonzero(safe[: i_fallback + 1])
        if safe[0]:
            choice = 0
        elif search_ok.size:
            what = ""
            if self.config.pull_back == "cheapest" and search_ok.size > 1:
                # of the candidates predicted safe, the one the spec's nominal plant
                # predicts to draw the least facility power
                facility_kw = self.predict_facility_kw(rows[search_ok])
                facility_kw = np.where(np.isfinite(facility_kw), facility_kw, np.inf)
                choice = int(search_ok[int(np.argmin(facility_kw))])
                what = f" (the least power of {search_ok.size} candidates predicted safe)"
                if choice == i_fallback:  # the rules' setpoints, not a hand-over to them
                    labels[choice] = "the rule-based fallback's setpoints apply"
            else:
                choice = int(search_ok[0])
            limited_reasons.append(
                Reason(
                    "PREDICTED_INLET",
                    f"proposal predicted to reach {predicted[0]:.1f} °C inlet within "
                    f"{self.config.horizon_steps} intervals (limit {self.limit_c:.1f} °C): "
                    f"{labels[choice]}{what}",
                )
            )
        elif predicted[i_fallback] <= self.spec.envelope.recommended_high_c:
            # nothing clears the margin, but the fallback stays within the limit itself
            choice = i_fallback
            limited_reasons.append(
                Reason(
                    "PREDICTED_INLET",
                    f"proposal predicted to reach {predicted[0]:.1f} °C inlet (limit "
                    f"{self.limit_c:.1f} °C); the fallback, {predicted[choice]:.1f} °C, applies",
                )
            )
        else:
            choice = i_fallback + 1 if safe[i_fallback + 1] else int(np.argmin(predicted))
            limited_reasons.append(
                Reason(
                    "EMERGENCY",
                    f"no candidate predicted below {self.limit_c:.1f} °C (fallback "
                    f"{predicted[i_fallback]:.1f} °C): the most cooling the ramp limits allow",
                )
            )
        # hard limits last of all: a ramp from a value outside them never leaves them
        applied = np.clip(rows[choice], self.lo, self.hi)
        self.last_prediction = float(self._first_step[choice])
        if applied[4] != self.last_applied[4]:
            self.econ_changed_ts = ts
        self.last_applied = applied.copy()
        # the fallback: chosen because nothing else was predicted safe (not because the
        # rules' setpoints were the cheapest of several candidates predicted safe)
        is_fallback = choice > i_fallback or (choice == i_fallback and search_ok.size <= 1)
        if is_fallback:
            self.fallback_steps += 1
        if limited_reasons:
            self.interventions += 1
        return Decision(
            proposed, applied, tuple(limited_reasons), is_fallback, float(predicted[choice])
        )

    def _limit(self, candidate: np.ndarray, reasons: list[Reason], ts: float) -> np.ndarray:
        """Hard limits, economizer hold and rate limits (reasons appended)."""
        clipped = np.clip(candidate, self.lo, self.hi)
        for j in np.flatnonzero(np.abs(clipped - candidate) > 1e-9):
            reasons.append(
                Reason(
                    "HARD_LIMIT",
                    f"{NAMES[j]} {candidate[j]:.3g} clipped to {clipped[j]:.3g} "
                    f"(allowed {self.lo[j]:g}..{self.hi[j]:g})",
                )
            )
        econ = 1.0 if clipped[4] >= 0.5 else 0.0
        if (
            econ != self.last_applied[4]
            and ts - self.econ_changed_ts < self.config.economizer_hold_s
        ):
            reasons.append(
                Reason(
                    "ECONOMIZER_HOLD",
                    f"economizer change held: last change {ts - self.econ_changed_ts:.0f} s ago "
                    f"(minimum {self.config.economizer_hold_s:g} s)",
                )
            )
            econ = self.last_applied[4]
        clipped[4] = econ
        step = np.clip(clipped - self.last_applied, -self.ramp, self.ramp)
        step[4] = clipped[4] - self.last_applied[4]
        limited: np.ndarray = self.last_applied + step
        for j in np.flatnonzero(np.abs(limited - clipped) > 1e-9):
            reasons.append(
                Reason(
                    "RATE_LIMIT",
                    f"{NAMES[j]} {clipped[j]:.3g} limited to {limited[j]:.3g} "
                    f"(at most {self.ramp[j]:g} per interval)",
                )
            )
        return limited

    def _max_cooling(self) -> np.ndarray:
        target = self.lo.copy()  # coldest chilled water, supply air and condenser water
        target[3] = self.hi[3]  # full pump speed
        target[4] = self.last_applied[4]
        target[5] = self.hi[5]  # the most CRAH air, the least recirculation
        step = np.clip(target - self.last_applied, -self.ramp, self.ramp)
        step[4] = 0.0
        moved: np.ndarray = self.last_applied + step
        return moved

    def _update_bias(self, measured: float | None) -> None:
        """Offset-free correction: EWMA of (measured − predicted) one-step inlet error."""
        if measured is None:
            self.bias_k = 0.0
            self.spread_k = 0.0
            return
        if math.isfinite(self.last_prediction):
            error = measured - self.last_prediction
            g = self.config.bias_gain
            self.spread_k = min((1 - g) * self.spread_k + g * abs(error - self.bias_k), 3.0)
            self.bias_k = min(max((1 - g) * self.bias_k + g * error, -1.5), 5.0)
