"""Simulated runs: a site's plant, its traces and a controller, over days.

``simulate(spec, controller, days, start_day, seeds)`` steps N plants (one per seed) from
the same start day through the site's weather, IT load (with seeded sub-hourly noise)
and grid carbon, and returns one metrics report per plant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cooling.control.baselines import StepContext
from cooling.control.safety import SafetyShield, ShieldConfig
from cooling.metrics import Accumulator
from cooling.plant import plant as plantmod
from cooling.plant.carbon import intensity_at, load_carbon
from cooling.plant.weather import load_weather
from cooling.plant.workload import ar1_noise, it_power_kw, load_utilisation, utilisation_at
from cooling.setpoints import NAMES, fixed_vector
from cooling.spec import SiteSpec


@dataclass(frozen=True)
class Traces:
    """Disturbances of N plants over T intervals, arrays of shape (T, N)."""

    hours: np.ndarray
    dry_bulb_c: np.ndarray
    wet_bulb_c: np.ndarray
    it_load_kw: np.ndarray
    carbon_g_per_kwh: np.ndarray

    def at(self, k: int) -> plantmod.Disturbances:
        return plantmod.Disturbances(
            np.stack([self.dry_bulb_c[k], self.wet_bulb_c[k], self.it_load_kw[k]], axis=1)
        )


def make_traces(spec: SiteSpec, start_hours: np.ndarray, n_steps: int, seeds: np.ndarray) -> Traces:
    """Weather, IT load and carbon for N plants starting at ``start_hours`` (hour of year)."""
    start_hours = np.asarray(start_hours, dtype=float)
    dt_h = spec.interval_s / 3600.0
    return traces_at_hours(spec, start_hours[None, :] + dt_h * np.arange(n_steps)[:, None], seeds)


def traces_at_hours(spec: SiteSpec, hours: np.ndarray, seeds: np.ndarray) -> Traces:
    """Weather, IT load and carbon for N plants at the hours of the year ``hours`` (T, N),
    one row per control interval (the IT load's noise runs on from row to row)."""
    hours = np.asarray(hours, dtype=float)
    if hours.ndim != 2:
        raise ValueError(f"hours must be (intervals, plants), got shape {hours.shape}")
    n_steps = hours.shape[0]
    seeds = np.broadcast_to(np.asarray(seeds), hours.shape[1:])
    weather = load_weather(spec.path(spec.weather))
    dry, wet = weather.at_hours(hours)
    util = utilisation_at(load_utilisation(spec.path(spec.it.workload)), hours)
    util = np.clip(
        util + ar1_noise(seeds, n_steps, spec.it.noise_sigma, spec.it.noise_phi), 0.0, 1.0
    )
    it_kw = it_power_kw(spec.it.capacity_kw, spec.it.servers.idle_fraction, util)
    carbon = intensity_at(load_carbon(spec.path(spec.carbon)), hours)
    return Traces(hours, dry, wet, it_kw, carbon)


#: Telemetry fields that sensor noise applies to (temperatures).
NOISY_FIELDS = tuple(n for n in plantmod.TELEMETRY_NAMES if n.endswith("_c"))


def simulate(
    spec: SiteSpec,
    controller: Callable,
    days: float,
    start_day: float = 0.0,
    seeds: tuple[int, ...] | np.ndarray = (0,),
    progress: Callable[[int, int], None] | None = None,
    shield: ShieldConfig | None = None,
    perturb: float = 0.0,
    sensor_noise_c: float = 0.0,
    record: list[dict] | None = None,
) -> list[dict]:
    """Run ``controller`` on N = len(seeds) plants for ``days``; one report per plant.

    ``shield``: put a :class:`~cooling.control.safety.SafetyShield` (one per plant)
    between the controller and the plant; where it hands control back, the plant's own
    controls hold their (the site's fixed) setpoints. ``perturb``: the simulated plant's
    parameters differ from the site spec (each of ``plant.PERTURBED_ENTRIES`` scaled by
    U(1 − perturb, 1 + perturb), seeded), while the shield keeps the nominal model.
    ``sensor_noise_c``: Gaussian noise on every temperature the controller and the
    shield read (the metrics use the true values). ``record``: a list that receives, per
    interval, the hour of the year, PUE, hottest inlet and setpoints of plant 0.
    """
    if days <= 0:
        raise ValueError(f"days must be > 0 (got {days})")
    if not 0 <= start_day < 365:
        raise ValueError(f"start day must be in 0..364 (got {start_day})")
    if not 0 <= sensor_noise_c <= 5:
        raise ValueError(f"sensor noise must be in 0..5 K (got {sensor_noise_c})")
    seeds = np.atleast_1d(np.asarray(seeds))
    n = seeds.size
    n_steps = round(days * 86400.0 / spec.interval_s)
    params = plantmod.params_from_spec(spec).repeat(n)
    rng = np.random.default_rng([int(s) for s in seeds])
    if perturb:
        params = plantmod.perturb(params, rng, perturb)
    # a day beyond the end, for controllers that look ahead (the oracle)
    lookahead = round(86400.0 / spec.interval_s)
    traces = make_traces(spec, np.full(n, start_day * 24.0), n_steps + lookahead, seeds)
    acc = Accumulator(
        n,
        spec.interval_s,
        spec.envelope.recommended_high_c,
        spec.envelope.allowable_high_c,
    )
    if hasattr(controller, "reset"):
        controller.reset(n)
    shields = [SafetyShield(spec, shield) for _ in range(n)] if shield is not None else []
    bms = fixed_vector(spec)
    fixed = plantmod.Setpoints(np.tile(bms, (n, 1)))
    state = plantmod.initial_state(params, fixed, traces.at(0))
    state, telemetry = plantmod.step(state, fixed, traces.at(0), params)  # first readings
    noisy = [plantmod.TELEMETRY_NAMES.index(f) for f in NOISY_FIELDS]
    for k in range(n_steps):
        observed = telemetry
        if sensor_noise_c > 0:
            observed = telemetry.copy()
            observed.data[:, noisy] += rng.normal(0.0, sensor_noise_c, (n, len(noisy)))
        setpoints = controller(observed, StepContext(state, params, traces, k))
        if shields:
            applied = np.empty((n, bms.size))
            ts = k * spec.interval_s
            for i, sh in enumerate(shields):
                decision = sh.decide(setpoints.data[i], observed.row(i), ts)
                applied[i] = bms if decision.applied is None else decision.applied
            setpoints = plantmod.Setpoints(applied)
        state, telemetry = plantmod.step(state, setpoints, traces.at(k), params)
        acc.add(telemetry, traces.carbon_g_per_kwh[k])
        if record is not None:
            record.append(
                {
                    "hour": float(traces.hours[k, 0]),
                    "pue": float(telemetry.facility_kw[0] / telemetry.it_kw[0]),
                    "inlet_max_c": float(telemetry.inlet_max_c[0]),
                    **{n: float(v) for n, v in zip(NAMES, setpoints.data[0], strict=True)},
                }
            )
        if progress is not None:
            progress(k + 1, n_steps)
    reports = [acc.result(i) for i in range(n)]
    for i, sh in enumerate(shields):
        reports[i]["shield_interventions"] = sh.interventions
        reports[i]["fallback_steps"] = sh.fallback_steps
    return reports
