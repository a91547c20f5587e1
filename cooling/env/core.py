"""The batch core shared by the single and the vector environment.

One :class:`BatchCore` holds N independent episodes of one site: their plant states,
parameters (perturbed per episode when domain randomisation is on), start hours and
load-noise streams. Both :class:`~cooling.env.cooling_env.CoolingEnv` (N = 1) and
:class:`~cooling.env.vector.CoolingVectorEnv` step through it, so a vector of N
environments and N single environments with the same seeds and actions give the same
trajectories by construction.

Disturbances are computed per step from the traces (vectorised over the N episodes), not
stored per episode, so 4096 week-long episodes cost megabytes, not gigabytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cooling import setpoints as sp
from cooling.features import (
    FORECAST_HOURS,
    interp_hourly,
    n_sensed,
    observation_kernel,
    observation_names,
)
from cooling.plant import plant as plantmod
from cooling.plant._jit import jit
from cooling.plant.carbon import intensity_at, load_carbon
from cooling.plant.weather import load_weather
from cooling.plant.workload import ar1_noise, load_utilisation
from cooling.spec import SiteSpec

__all__ = [
    "EVAL_WEEK_START_DAYS",
    "FORECAST_HOURS",
    "VALIDATION_WEEK_START_DAYS",
    "BatchCore",
    "EnvOptions",
    "make_options",
]

#: Held-out evaluation weeks (start day of year, 0-based), one in each season: the test
#: set every reported figure comes from. Training episodes never overlap them, and
#: training never selects a checkpoint on them.
EVAL_WEEK_START_DAYS = (21, 112, 203, 294)
#: Validation weeks, five weeks after each held-out week (same season): training picks
#: its best checkpoint on these, so the held-out figures are not chosen on the test set.
#: Training episodes never overlap them either.
VALIDATION_WEEK_START_DAYS = (56, 147, 238, 329)
#: What an episode's start day is drawn from, per mode.
MODES = ("train", "validation", "eval")
#: Reward scale: the energy term is (facility − compute IT) power / (this × IT capacity).
REWARD_SCALE_OF_CAPACITY = 0.25
#: The power breakdown reported in ``info`` [kW], averaged over the step.
POWER_FIELDS = tuple(
    n
    for n in plantmod.TELEMETRY_NAMES
    if n.endswith("_kw") and not n.startswith(("q_", "it_compute", "heat_"))
)


@dataclass(frozen=True)
class EnvOptions:
    """Options of an environment (all off or default unless given)."""

    episode_days: float = 7.0
    # "train": seeded random starts outside the held-out and validation weeks;
    # "validation": the validation weeks in turn; "eval": the held-out weeks in turn
    mode: str = "train"
    sensor_noise_c: float = 0.0  # std of Gaussian noise on observed temperatures [K]
    randomize: float = 0.0  # relative half-width of the plant-parameter perturbation
    penalty_per_k: float = 1.0  # reward penalty per K of hottest inlet above recommended
    # the penalty starts this far below the recommended limit [K]: a policy that will run
    # behind the safety shield, which pulls back inlets predicted within its margin_k
    # (0.5 K) of 27 °C with a pessimistic model, may learn to keep clear of it
    penalty_margin_k: float = 0.0
    warmup_steps: int = 12

    def __post_init__(self) -> None:
        if not 0.1 <= self.episode_days <= 365:
            raise ValueError(f"episode_days must be in 0.1..365 (got {self.episode_days})")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)} (got {self.mode!r})")
        if not 0.0 <= self.sensor_noise_c <= 5.0:
            raise ValueError(f"sensor_noise_c must be in 0..5 K (got {self.sensor_noise_c})")
        if not 0.0 <= self.randomize <= 0.5:
            raise ValueError(f"randomize must be in 0..0.5 (got {self.randomize})")
        if self.penalty_per_k < 0:
            raise ValueError(f"penalty_per_k must be >= 0 (got {self.penalty_per_k})")
        m = self.penalty_margin_k
        if isinstance(m, bool) or not isinstance(m, int | float) or not 0.0 <= m <= 5.0:
            raise ValueError(f"penalty_margin_k must be a number in 0..5 K (got {m!r})")
        if self.mode == "train":
            training_start_days(self.episode_days)  # an episode too long: a clear error
        elif self.episode_days > 7:
            raise ValueError(
                f"{self.mode} episodes are weeks of the year: episode_days <= 7 "
                f"(got {self.episode_days})"
            )


@jit
def _disturbance_kernel(hours, dry_bulb, wet_bulb, util, noise, step_index, capacity, idle, out):
    for i in range(hours.shape[0]):
        h = hours[i]
        out[i, 0] = interp_hourly(dry_bulb, h)
        out[i, 1] = interp_hourly(wet_bulb, h)
        u = min(max(interp_hourly(util, h) + noise[i, step_index[i]], 0.0), 1.0)
        out[i, 2] = capacity * (idle + (1.0 - idle) * u)


def make_options(options: dict) -> EnvOptions:
    """EnvOptions from keyword arguments, with a clear error for an unknown one."""
    import dataclasses

    allowed = [f.name for f in dataclasses.fields(EnvOptions)]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"unknown environment option(s) {unknown}; allowed: {', '.join(allowed)}")
    return EnvOptions(**options)


def training_start_days(episode_days: float) -> np.ndarray:
    """Whole start days whose episodes overlap neither a held-out nor a validation week.

    The traces wrap at the end of the year, so an episode running past day 365 meets the
    next year's weeks too. An episode too long to fit between them is an error."""
    ok = _start_mask(episode_days)
    if not ok.any():
        longest = max(d for d in range(1, 366) if _start_mask(d).any())
        raise ValueError(
            f"training episodes of {episode_days} days cannot avoid the held-out and "
            f"validation weeks: episode_days <= {longest} in mode 'train'"
        )
    return np.flatnonzero(ok)


def _start_mask(episode_days: float) -> np.ndarray:
    """Per day of the year: may a training episode of this length start there?"""
    days = np.arange(0, 365)
    ok = np.ones(days.size, dtype=bool)
    years = int(np.ceil((365 + episode_days) / 365))  # the years an episode can reach
    for h0 in EVAL_WEEK_START_DAYS + VALIDATION_WEEK_START_DAYS:
        for h in h0 + 365 * np.arange(years):
            # episode [d, d + L) overlaps [h, h + 7) unless d + L <= h or d >= h + 7
            ok &= (days + episode_days <= h) | (days >= h + 7)
    return ok


class BatchCore:
    """N episodes of one site, stepped together through the batch plant."""

    def __init__(self, spec: SiteSpec, n: int, options: EnvOptions):
        self.spec = spec
        self.n = n
        self.options = options
        self.map = sp.SetpointMap.from_spec(spec)
        self.names = self.map.names
        self._exposed = self.map.index
        self.dt_h = spec.interval_s / 3600.0
        self.episode_steps = round(options.episode_days * 24.0 / self.dt_h)
        self.base_params = plantmod.params_from_spec(spec)
        self.params = self.base_params.repeat(n)
        self.weather = load_weather(spec.path(spec.weather))
        self.utilisation = load_utilisation(spec.path(spec.it.workload))
        self.carbon = load_carbon(spec.path(spec.carbon))
        self.capacity_kw = spec.it.capacity_kw
        self.reward_scale_kw = REWARD_SCALE_OF_CAPACITY * self.capacity_kw
        self.train_days = training_start_days(options.episode_days)
        self.zones = len(spec.zones)
        self.start_hour = np.zeros(n)
        self.step_index = np.zeros(n, dtype=np.int64)
        self.noise = np.zeros((n, self.episode_steps + 1))
        self.state = plantmod.PlantState(np.zeros((n, len(plantmod.STATE_NAMES))))
        self.setpoints = np.tile(sp.fixed_vector(spec), (n, 1))
        self.telemetry = plantmod.Telemetry(np.zeros((n, len(plantmod.TELEMETRY_NAMES))))
        self.eval_counter = np.zeros(n, dtype=np.int64)
        self.observation_names = observation_names(spec)
        self._n_sensed = n_sensed(self.zones)
        self._no_noise = np.zeros((n, self._n_sensed))
        self._forecast_hours = np.array(FORECAST_HOURS)

    # -- observation -----------------------------------------------------------------
    def hours(self) -> np.ndarray:
        """Hour of the year of each episode's current step."""
        return self.start_hour + self.step_index * self.dt_h

    def disturbances(self, hours: np.ndarray) -> plantmod.Disturbances:
        out = np.empty((self.n, 3))
        _disturbance_kernel(
            hours,
            self.weather.dry_bulb_c,
            self.weather.wet_bulb_c,
            self.utilisation,
            self.noise,
            self.step_index,
            self.capacity_kw,
            self.spec.it.servers.idle_fraction,
            out,
        )
        return plantmod.Disturbances(out)

    def observe(self, rng: np.random.Generator | None) -> np.ndarray:
        """Observations of the N episodes, shape (N, len(observation_names)), float32."""
        if self.options.sensor_noise_c > 0 and rng is not None:
            noise = rng.normal(0.0, self.options.sensor_noise_c, (self.n, self._n_sensed))
        else:
            noise = self._no_noise
        out = np.empty((self.n, len(self.observation_names)), dtype=np.float32)
        observation_kernel(
            self.telemetry.data,
            self.hours(),
            self.weather.dry_bulb_c,
            self.weather.wet_bulb_c,
            self.utilisation,
            self.spec.it.servers.idle_fraction,
            self.setpoints,
            self._exposed,
            self.map.lo,
            self.map.hi,
            self.zones,
            self.capacity_kw,
            float(self.spec.chillers.count),
            self._forecast_hours,
            noise,
            out,
        )
        return out

    # -- episodes ----------------------------------------------------------------------
    def reset_rows(self, rows: np.ndarray, rngs: list[np.random.Generator]) -> None:
        """Start new episodes in ``rows``, each drawing from its own generator."""
        opts = self.options
        seeds = np.empty(len(rows), dtype=np.int64)
        for j, (row, rng) in enumerate(zip(rows, rngs, strict=True)):
            if opts.mode == "train":
                day = float(rng.choice(self.train_days))
            else:
                # row i starts at the i-th week, then each cycles through them
                weeks = EVAL_WEEK_START_DAYS if opts.mode == "eval" else VALIDATION_WEEK_START_DAYS
                day = float(weeks[(self.eval_counter[row] + row) % len(weeks)])
                self.eval_counter[row] += 1
            self.start_hour[row] = day * 24.0
            seeds[j] = rng.integers(0, 2**63 - 1)
            if opts.randomize > 0:
                self.params.data[row] = plantmod.perturb(
                    self.base_params, rng, opts.randomize
                ).data[0]
            else:
                self.params.data[row] = self.base_params.data[0]
        self.noise[rows] = ar1_noise(
            seeds, self.episode_steps + 1, self.spec.it.noise_sigma, self.spec.it.noise_phi
        ).T
        self.step_index[rows] = 0
        self.setpoints[rows] = sp.fixed_vector(self.spec)
        sub = plantmod.PlantParams(self.params.data[rows], self.params.site, self.params.zones)
        dist = self.disturbances(self.hours())
        dist_rows = plantmod.Disturbances(dist.data[rows])
        sps = plantmod.Setpoints(self.setpoints[rows])
        state = plantmod.initial_state(sub, sps, dist_rows, warmup_steps=0)
        for _ in range(opts.warmup_steps):
            state, tel = plantmod.step(state, sps, dist_rows, sub)
        if opts.warmup_steps == 0:
            state, tel = plantmod.step(state, sps, dist_rows, sub)
        self.state.data[rows] = state.data
        self.telemetry.data[rows] = tel.data

    # -- stepping ----------------------------------------------------------------------
    def step(self, actions: np.ndarray) -> dict[str, np.ndarray]:
        """Apply actions in [-1, 1] (N, A); returns reward terms and per-episode figures."""
        actions = np.asarray(actions, dtype=np.float64).reshape(self.n, len(self.names))
        if not np.isfinite(actions).all():
            raise ValueError("actions must be finite numbers in [-1, 1]")
        if (self.step_index >= self.episode_steps).any():
            raise RuntimeError("the episode has ended (truncated): call reset() first")
        full = self.setpoints.copy()
        full[:, self._exposed] = self.map.to_engineering(actions)
        self.setpoints = full
        hours = self.hours()
        dist = self.disturbances(hours)
        carbon = intensity_at(self.carbon, hours)
        self.state, tel = plantmod.step(
            self.state, plantmod.Setpoints(full), dist, self.params, check=False
        )
        self.telemetry = tel
        self.step_index += 1
        env = self.spec.envelope
        excess = np.maximum(tel.inlet_max_c - env.recommended_high_c, 0.0)
        excess_allow = np.maximum(tel.inlet_max_c - env.allowable_high_c, 0.0)
        penalty_from_c = env.recommended_high_c - self.options.penalty_margin_k
        penalised = np.maximum(tel.inlet_max_c - penalty_from_c, 0.0)
        r_energy = -(tel.facility_kw - tel.it_compute_kw) / self.reward_scale_kw
        r_penalty = -self.options.penalty_per_k * (penalised + 10.0 * excess_allow)
        h = self.spec.interval_s / 3600.0
        return {
            "reward": r_energy + r_penalty,
            "reward_energy": r_energy,
            "reward_penalty": r_penalty,
            "cost": excess,
            "pue": tel.facility_kw / tel.it_kw,
            "facility_kwh": tel.facility_kw * h,
            "it_kwh": tel.it_kw * h,
            "cooling_kwh": tel.cooling_kw * h,
            "water_l": tel.water_l,
            "carbon_kg": tel.facility_kw * h * carbon / 1000.0,
            "max_inlet_c": tel.inlet_max_c,
            **{f: tel[f] for f in POWER_FIELDS},
            "truncated": self.step_index >= self.episode_steps,
        }
