"""The setpoint vector, its ranges and the [-1, 1] ↔ engineering-unit mapping.

Shared by the environment (policy actions) and the controller. The full vector, in this
order, is what the plant takes; a site exposes those of its ``setpoints`` section (the
economizer only where one is fitted).
"""

from __future__ import annotations

import numpy as np

from cooling.spec import SiteSpec

NAMES = ("chw_supply_c", "supply_air_c", "cw_supply_c", "chw_pump_speed", "economizer")
UNITS = {
    "chw_supply_c": "°C",
    "supply_air_c": "°C",
    "cw_supply_c": "°C",
    "chw_pump_speed": "fraction of design flow",
    "economizer": "enable (≥ 0.5 on)",
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
    lo, hi = ranges(spec)
    a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
    return lo + (a + 1.0) * 0.5 * (hi - lo)


def to_action(values: np.ndarray, spec: SiteSpec) -> np.ndarray:
    """Inverse of :func:`to_engineering` (values outside the ranges map outside [-1, 1])."""
    lo, hi = ranges(spec)
    return 2.0 * (np.asarray(values, dtype=np.float64) - lo) / (hi - lo) - 1.0


def fixed_vector(spec: SiteSpec) -> np.ndarray:
    """The site's legacy fixed setpoints as the plant's full setpoint vector."""
    f = spec.fixed_setpoints
    econ = f.economizer if spec.economizer is not None else 0.0
    return np.array([f.chw_supply_c, f.supply_air_c, f.cw_supply_c, f.chw_pump_speed, econ])
