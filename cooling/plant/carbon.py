"""Hourly grid carbon intensity [gCO2/kWh] (US EIA hourly grid monitor, 2022)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cooling.plant.hourly import HOURS, read_hourly_column

COLUMN = "avg_ci_g_per_kwh"


class CarbonError(ValueError):
    """A carbon-intensity trace is unreadable or unphysical."""


def load_carbon(path: str | Path) -> np.ndarray:
    """Hourly carbon intensity [gCO2/kWh], 8760 values."""
    return read_hourly_column(
        path, COLUMN, 0.0, 2000.0, "grid carbon intensity, gCO2/kWh", CarbonError
    )


def intensity_at(hourly: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Carbon intensity [gCO2/kWh] at fractional hours (step-wise within the hour)."""
    out: np.ndarray = hourly[np.floor(np.mod(hours, HOURS)).astype(np.int64)]
    return out
