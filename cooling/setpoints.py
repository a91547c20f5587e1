"""The setpoint vector, its ranges and the [-1, 1] ↔ engineering-unit mapping.

Shared by the environment (policy actions) and the controller. The full vector, in this
order, is what the plant takes; a site exposes those of its ``setpoints`` section (the
economizer only where one is fitted, the CRAH air flow only where the spec lists it: a
setpoint a site does not expose stays at its ``fixed_setpoints`` value).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cooling.spec import SiteSpec

NAMES = (
    "chw_supply_c",
    "supply_air_c",
    "cw_supply_c",
    "chw_pump_speed",
    "economizer",
    "crah_airflow",
)
UNITS = {
    "chw_supply_c": "°C",
    "supply_air_c": "°C",
    "cw_supply_c": "°C",
    "chw_pump_speed": "fraction of design flow",
    "economizer": "enable (≥ 0.5 on)",
    "crah_airflow": "fraction of the design-ratio air flow",
}


def site_names(spec: SiteSpec) -> tuple[str, ...]:
    """The setpoints the site exposes (those with a range in its spec)."""
    return tuple(n for n in NAMES if getattr(spec.setpoints, n) is not None)


def ranges(spec: SiteSpec) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the site's exposed setpoints."""
    names = site_names(spec)
    lo = np.array([getattr(spec.setpoints, n).min for n in names])
    hi = np.array([getattr(spec.setpoints, n).max for n in names])
    return lo, hi


def to_engineering(action: np.ndarray, spec: SiteSpec) -> np.ndarray:
    """Map actions in [-1, 1] (clipped) onto the site's setpoint ranges."""
    return SetpointMap.from_spec(spec).to_engineering(action)


def to_action(values: np.ndarray, spec: SiteSpec) -> np.ndarray:
    """Inverse of :func:`to_engineering` (values outside the ranges map outside [-1, 1])."""
    return SetpointMap.from_spec(spec).to_action(values)


def fixed_vector(spec: SiteSpec) -> np.ndarray:
    """The site's legacy fixed setpoints as the plant's full setpoint vector."""
    f = spec.fixed_setpoints
    econ = f.economizer if spec.economizer is not None else 0.0
    return np.array(
        [f.chw_supply_c, f.supply_air_c, f.cw_supply_c, f.chw_pump_speed, econ, f.crah_airflow]
    )


@dataclass(frozen=True)
class SetpointMap:
    """The site's exposed setpoints and the [-1, 1] ↔ engineering mapping, precomputed."""

    names: tuple[str, ...]
    lo: NDArray[np.float64]
    hi: NDArray[np.float64]
    index: np.ndarray  # position of each exposed setpoint in the plant's full vector

    @classmethod
    def from_spec(cls, spec: SiteSpec) -> SetpointMap:
        names = site_names(spec)
        lo, hi = ranges(spec)
        return cls(names, lo, hi, np.array([NAMES.index(n) for n in names]))

    def to_engineering(self, action: np.ndarray) -> np.ndarray:
        """Actions in [-1, 1] (clipped) → engineering values, shape (..., len(names))."""
        a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        return self.lo + (a + 1.0) * 0.5 * (self.hi - self.lo)

    def to_action(self, values: np.ndarray) -> np.ndarray:
        """Engineering values → [-1, 1] (values outside the ranges map outside)."""
        return 2.0 * (np.asarray(values, dtype=np.float64) - self.lo) / (self.hi - self.lo) - 1.0
