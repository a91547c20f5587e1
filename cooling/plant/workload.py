"""IT load from workload traces: hourly utilisation → IT power at the control interval.

``P_compute = P_rated·[p_idle + (1 − p_idle)·u]`` [Barroso & Hölzle 2007; PHYSICS.md §10]
with ``u`` the hourly CPU utilisation of a real cluster trace (Alibaba 2018 or Google
2019, hourly aggregates), interpolated linearly to the control interval, plus seeded
AR(1) noise (φ ≈ 0.95 per 5 min, σ ≈ 0.02) for the sub-hourly variability the hourly
aggregates smooth away. Server fans and leakage are added by the rack model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cooling.plant.hourly import HOURS, read_hourly_column


class WorkloadError(ValueError):
    """A workload trace is unreadable or holds values outside 0..1."""


def load_utilisation(path: str | Path) -> np.ndarray:
    """Hourly utilisation (8760 values in 0..1) from a CSV with a ``cpu_load`` column."""
    return read_hourly_column(
        path,
        "cpu_load",
        0.0,
        1.0,
        "CPU utilisation 0..1; a negative load is not physical",
        WorkloadError,
    )


def utilisation_at(hourly: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Utilisation at fractional hours of the year (linear interpolation, wraps around)."""
    h = np.mod(np.asarray(hours, dtype=float), HOURS)
    i0 = np.floor(h).astype(np.int64)
    frac = h - i0
    out: np.ndarray = hourly[i0] * (1.0 - frac) + hourly[(i0 + 1) % HOURS] * frac
    return out


def ar1_noise(seeds: np.ndarray, n_steps: int, sigma: float, phi: float) -> np.ndarray:
    """Stationary AR(1) noise, shape (n_steps, N): one independent stream per seed.

    Each column depends only on its own seed, so a batch reproduces single runs exactly.
    """
    seeds = np.asarray(seeds)
    out = np.zeros((n_steps, seeds.size))
    if sigma <= 0.0:
        return out
    draws = np.stack(
        [np.random.default_rng(int(s)).normal(size=n_steps + 1) for s in seeds], axis=1
    )
    e = sigma * draws[0]
    innovation = sigma * np.sqrt(1.0 - phi * phi)
    for k in range(n_steps):  # a loop over time, vectorised over plants
        e = phi * e + innovation * draws[k + 1]
        out[k] = e
    return out


def it_power_kw(capacity_kw: float, idle_fraction: float, utilisation: np.ndarray) -> np.ndarray:
    """Compute power [kW] of servers at ``utilisation`` (before fans and leakage)."""
    return capacity_kw * (idle_fraction + (1.0 - idle_fraction) * utilisation)
