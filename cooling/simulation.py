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
from cooling.metrics import Accumulator
from cooling.plant import plant as plantmod
from cooling.plant.carbon import intensity_at, load_carbon
from cooling.plant.weather import load_weather
from cooling.plant.workload import ar1_noise, it_power_kw, load_utilisation, utilisation_at
from cooling.setpoints import fixed_vector
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
    seeds = np.broadcast_to(np.asarray(seeds), start_hours.shape)
    dt_h = spec.interval_s / 3600.0
    hours = start_hours[None, :] + dt_h * np.arange(n_steps)[:, None]
    weather = load_weather(spec.path(spec.weather))
    dry, wet = weather.at_hours(hours)
    util = utilisation_at(load_utilisation(spec.path(spec.it.workload)), hours)
    util = np.clip(
        util + ar1_noise(seeds, n_steps, spec.it.noise_sigma, spec.it.noise_phi), 0.0, 1.0
    )
    it_kw = it_power_kw(spec.it.capacity_kw, spec.it.servers.idle_fraction, util)
    carbon = intensity_at(load_carbon(spec.path(spec.carbon)), hours)
    return Traces(hours, dry, wet, it_kw, carbon)


def simulate(
    spec: SiteSpec,
    controller: Callable,
    days: float,
    start_day: float = 0.0,
    seeds: tuple[int, ...] | np.ndarray = (0,),
    progress: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Run ``controller`` on N = len(seeds) plants for ``days``; one report per plant."""
    if days <= 0:
        raise ValueError(f"days must be > 0 (got {days})")
    if not 0 <= start_day < 365:
        raise ValueError(f"start day must be in 0..364 (got {start_day})")
    seeds = np.atleast_1d(np.asarray(seeds))
    n = seeds.size
    n_steps = round(days * 86400.0 / spec.interval_s)
    params = plantmod.params_from_spec(spec).repeat(n)
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
    telemetry = plantmod.Telemetry(np.full((n, len(plantmod.TELEMETRY_NAMES)), np.nan))
    fixed = plantmod.Setpoints(np.tile(fixed_vector(spec), (n, 1)))
    state = plantmod.initial_state(params, fixed, traces.at(0))
    for k in range(n_steps):
        setpoints = controller(telemetry, StepContext(state, params, traces, k))
        state, telemetry = plantmod.step(state, setpoints, traces.at(k), params)
        acc.add(telemetry, traces.carbon_g_per_kwh[k])
        if progress is not None:
            progress(k + 1, n_steps)
    return [acc.result(i) for i in range(n)]
