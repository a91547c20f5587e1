"""Hourly grid carbon intensity [gCO2/kWh] (US EIA hourly grid monitor, 2022)."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np

HOURS = 8760
COLUMN = "avg_ci_g_per_kwh"


class CarbonError(ValueError):
    """A carbon-intensity trace is unreadable or unphysical."""


@lru_cache(maxsize=16)
def _load_cached(path: str, mtime: float) -> np.ndarray:
    p = Path(path)
    with p.open(newline="") as f:
        reader = csv.DictReader(ln for ln in f if not ln.startswith("#"))
        if reader.fieldnames is None or COLUMN not in reader.fieldnames:
            raise CarbonError(f"{p}: needs a column {COLUMN!r}")
        values = []
        for row in reader:
            try:
                v = float(row[COLUMN])
            except (TypeError, ValueError):
                raise CarbonError(f"{p}:{reader.line_num}: not a number: {row[COLUMN]!r}") from None
            if not 0.0 <= v <= 2000.0:
                raise CarbonError(f"{p}:{reader.line_num}: {v:g} gCO2/kWh is outside 0..2000")
            values.append(v)
    if len(values) != HOURS:
        raise CarbonError(f"{p}: {len(values)} hourly rows, one year has {HOURS}")
    arr = np.array(values)
    arr.setflags(write=False)
    return arr


def load_carbon(path: str | Path) -> np.ndarray:
    """Hourly carbon intensity [gCO2/kWh], 8760 values."""
    p = Path(path)
    if not p.is_file():
        raise CarbonError(f"{p}: carbon file not found")
    return _load_cached(str(p.resolve()), p.stat().st_mtime)


def intensity_at(hourly: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Carbon intensity [gCO2/kWh] at fractional hours (step-wise within the hour)."""
    return hourly[np.floor(np.mod(hours, HOURS)).astype(np.int64)]
