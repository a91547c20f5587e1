"""Facility metrics: one definition of each, used everywhere.

- PUE = facility energy / IT energy over a period [The Green Grid WP#49; ISO/IEC 30134-2].
  Energies, not instantaneous powers.
- Cooling partial PUE = (IT + cooling energy) / IT energy [TGG WP#49].
- WUE = site water [L] / IT energy [kWh] [TGG WP#35; ISO/IEC 30134-9].
- Carbon = Σ facility energy × grid carbon intensity (hourly, location-based).
- Thermal envelope, ASHRAE TC 9.9 (5th ed., 2021) class A1: recommended 18-27 °C inlet,
  allowable 15-32 °C. A control interval counts, in full, as minutes above a limit when
  the hottest rack inlet within it exceeds the limit; the worst inlet is the maximum.

Server fans are IT power (as metered in practice), so a warmer hall can lower PUE while
raising facility energy: compare controllers on facility or cooling energy, not PUE alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: ASHRAE TC 9.9 class A1 limits [°C] (PHYSICS.md §7).
RECOMMENDED_HIGH_C = 27.0
ALLOWABLE_HIGH_C = 32.0

#: Subsystems of the cooling energy: (report key, telemetry field).
COOLING_PARTS = (
    ("chillers", "chiller_kw"),
    ("towers", "tower_fan_kw"),
    ("chw_pumps", "chw_pump_kw"),
    ("cw_pumps", "cw_pump_kw"),
    ("crah_fans", "crah_fan_kw"),
)


def pue(facility_kwh: float, it_kwh: float) -> float:
    """Power usage effectiveness [-] from energies over one period."""
    return facility_kwh / it_kwh if it_kwh > 0 else float("nan")


def cooling_ppue(cooling_kwh: float, it_kwh: float) -> float:
    """Cooling partial PUE [-]: (IT + cooling) / IT."""
    return (it_kwh + cooling_kwh) / it_kwh if it_kwh > 0 else float("nan")


def wue(water_l: float, it_kwh: float) -> float:
    """Water usage effectiveness [L/kWh of IT energy]."""
    return water_l / it_kwh if it_kwh > 0 else float("nan")


def carbon_kg(facility_kwh: np.ndarray, intensity_g_per_kwh: np.ndarray) -> float:
    """Location-based emissions [kg CO2] of per-interval energies at their intensities."""
    return float(np.sum(np.asarray(facility_kwh) * np.asarray(intensity_g_per_kwh)) / 1000.0)


@dataclass
class Accumulator:
    """Running totals for N plants, fed one interval of telemetry at a time."""

    n: int
    interval_s: float
    recommended_high_c: float = RECOMMENDED_HIGH_C
    allowable_high_c: float = ALLOWABLE_HIGH_C
    steps: int = 0
    kwh: dict[str, np.ndarray] = field(default_factory=dict)
    water_l: np.ndarray = field(init=False)
    carbon_kg: np.ndarray = field(init=False)
    above_recommended: np.ndarray = field(init=False)
    above_allowable: np.ndarray = field(init=False)
    max_inlet_c: np.ndarray = field(init=False)
    economizer_steps: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        keys = ["it", "facility", "cooling", "electrical_loss", "server_fans"]
        keys += [k for k, _ in COOLING_PARTS]
        self.kwh = {k: np.zeros(self.n) for k in keys}
        self.water_l = np.zeros(self.n)
        self.carbon_kg = np.zeros(self.n)
        self.above_recommended = np.zeros(self.n, dtype=np.int64)
        self.above_allowable = np.zeros(self.n, dtype=np.int64)
        self.max_inlet_c = np.full(self.n, -np.inf)
        self.economizer_steps = np.zeros(self.n, dtype=np.int64)

    def add(self, telemetry, carbon_g_per_kwh: np.ndarray) -> None:
        """Add one interval of telemetry (a ``Telemetry`` of N plants)."""
        h = self.interval_s / 3600.0
        facility = telemetry.facility_kw * h
        self.kwh["it"] += telemetry.it_kw * h
        self.kwh["facility"] += facility
        self.kwh["cooling"] += telemetry.cooling_kw * h
        self.kwh["electrical_loss"] += telemetry.electrical_loss_kw * h
        self.kwh["server_fans"] += telemetry.server_fan_kw * h
        for key, fld in COOLING_PARTS:
            self.kwh[key] += telemetry[fld] * h
        self.water_l += telemetry.water_l
        self.carbon_kg += facility * carbon_g_per_kwh / 1000.0
        inlet = telemetry.inlet_max_c
        self.above_recommended += inlet > self.recommended_high_c
        self.above_allowable += inlet > self.allowable_high_c
        self.max_inlet_c = np.maximum(self.max_inlet_c, inlet)
        self.economizer_steps += telemetry.economizer_on > 0.5
        self.steps += 1

    def result(self, i: int = 0) -> dict:
        """The report of plant ``i``: the keys of ``cooling simulate --json``."""
        minutes = self.interval_s / 60.0
        it_kwh = float(self.kwh["it"][i])
        return {
            "pue": pue(float(self.kwh["facility"][i]), it_kwh),
            "cooling_ppue": cooling_ppue(float(self.kwh["cooling"][i]), it_kwh),
            "it_kwh": it_kwh,
            "facility_kwh": float(self.kwh["facility"][i]),
            "cooling_kwh": float(self.kwh["cooling"][i]),
            "cooling_breakdown_kwh": {k: float(self.kwh[k][i]) for k, _ in COOLING_PARTS},
            "electrical_loss_kwh": float(self.kwh["electrical_loss"][i]),
            "server_fan_kwh": float(self.kwh["server_fans"][i]),
            "water_l": float(self.water_l[i]),
            "wue_l_per_kwh": wue(float(self.water_l[i]), it_kwh),
            "carbon_kg": float(self.carbon_kg[i]),
            "minutes_above_recommended": float(self.above_recommended[i] * minutes),
            "minutes_above_allowable": float(self.above_allowable[i] * minutes),
            "max_inlet_c": float(self.max_inlet_c[i]),
            "economizer_hours": float(self.economizer_steps[i] * minutes / 60.0),
            "hours": self.steps * minutes / 60.0,
        }
