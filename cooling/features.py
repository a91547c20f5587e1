"""Observation features: what a policy sees, from telemetry and the site's typical-year traces.

Shared by the environments (training) and by deployment (a trained policy fed from live
telemetry and the site's traces), so that both compute the very same features. Scaled
temperatures, loads, the setpoints in force, time of day and year, and IT-load and
wet-bulb forecasts; see :class:`cooling.env.CoolingEnv` for the table.

Everything measured comes from the telemetry, the outdoor air included. The forecasts
are persistence plus the typical day's change: the reading now, plus how much the site's
typical-year trace (weather; IT load) changes from now to the forecast hour. In a
simulation that runs on the typical year itself, the outdoor features are the trace as
the last interval's telemetry reported it (one interval back); on a live site, on a day
warmer than the typical one, they follow the measured air. Where the telemetry has no
outdoor reading (NaN; the deployed controller also passes a reading the shield rejects
as NaN), the typical year's value stands in for it.

:data:`OBSERVATION_VERSION` names this definition; model cards record it, and a policy
trained on another is refused (:func:`cooling.control.policy.load_policy`).
"""

from __future__ import annotations

import numpy as np

from cooling.plant._jit import jit
from cooling.plant.plant import T as TEL
from cooling.setpoints import SetpointMap
from cooling.spec import SiteSpec

HOURS_PER_YEAR = 8760
#: The observation's definition: 1 since the outdoor air comes from the telemetry (0: read
#: from the typical-year trace). Bumped with the environments' ids (``cooling/Site-v1``).
OBSERVATION_VERSION = 1
#: Forecast horizons of the observation [h].
FORECAST_HOURS = (1.0, 3.0)


def n_sensed(zones: int) -> int:
    """How many measured temperatures the features read (each takes the sensor noise):
    per zone the hottest and the mean inlet, five plant temperatures, the outdoor dry-
    and wet-bulb."""
    return 2 * zones + 7


@jit
def interp_hourly(values: np.ndarray, hour: float) -> float:
    """Linear interpolation of an hourly year-long trace at a fractional hour (wraps)."""
    h = hour % HOURS_PER_YEAR
    i0 = int(h)
    frac = h - i0
    value: float = values[i0] * (1.0 - frac) + values[(i0 + 1) % HOURS_PER_YEAR] * frac
    return value


@jit
def observation_kernel(
    tel: np.ndarray,
    hours: np.ndarray,
    dry_bulb: np.ndarray,
    wet_bulb: np.ndarray,
    util: np.ndarray,
    idle: float,
    setpoints: np.ndarray,
    exposed: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    zones: int,
    capacity: float,
    chillers: float,
    forecast_hours: np.ndarray,
    sensed_noise: np.ndarray,
    out: np.ndarray,
) -> None:
    j_out = 2 * zones + 5  # the outdoor readings' noise, after the inlets and the plant's
    for i in range(tel.shape[0]):
        h = hours[i]
        # outdoor air: measured; the typical year's value where there is no reading
        wet_typical = interp_hourly(wet_bulb, h)
        dry_now = tel[i, TEL.outdoor_dry_bulb_c] + sensed_noise[i, j_out]
        if not np.isfinite(dry_now):
            dry_now = interp_hourly(dry_bulb, h)
        wet_now = tel[i, TEL.outdoor_wet_bulb_c] + sensed_noise[i, j_out + 1]
        if not np.isfinite(wet_now):
            wet_now = wet_typical
        load_now = tel[i, TEL.it_kw] / capacity
        load_typical = idle + (1.0 - idle) * interp_hourly(util, h)
        k = 0
        out[i, k] = (dry_now - 20.0) / 10.0
        out[i, k + 1] = (wet_now - 15.0) / 10.0
        out[i, k + 2] = load_now
        k = 3
        j = 0  # index into the sensed (noisy) temperatures
        for z in range(zones):
            out[i, k] = (tel[i, TEL.zone0_inlet_max_c + z] + sensed_noise[i, j] - 22.0) / 5.0
            out[i, k + 1] = (
                tel[i, TEL.zone0_inlet_mean_c + z] + sensed_noise[i, j + 1] - 22.0
            ) / 5.0
            k += 2
            j += 2
        out[i, k] = (tel[i, TEL.chw_supply_c] + sensed_noise[i, j] - 12.0) / 6.0
        out[i, k + 1] = (tel[i, TEL.chw_return_c] + sensed_noise[i, j + 1] - 12.0) / 6.0
        out[i, k + 2] = (tel[i, TEL.cw_supply_c] + sensed_noise[i, j + 2] - 25.0) / 8.0
        out[i, k + 3] = (tel[i, TEL.cw_return_c] + sensed_noise[i, j + 3] - 25.0) / 8.0
        out[i, k + 4] = (tel[i, TEL.supply_air_c] + sensed_noise[i, j + 4] - 20.0) / 5.0
        out[i, k + 5] = tel[i, TEL.chillers_on] / chillers
        out[i, k + 6] = tel[i, TEL.economizer_on]
        k += 7
        for a in range(exposed.shape[0]):
            out[i, k] = 2.0 * (setpoints[i, exposed[a]] - lo[a]) / (hi[a] - lo[a]) - 1.0
            k += 1
        day = 2.0 * np.pi * (h % 24.0) / 24.0
        year = 2.0 * np.pi * (h % HOURS_PER_YEAR) / HOURS_PER_YEAR
        out[i, k] = np.sin(day)
        out[i, k + 1] = np.cos(day)
        out[i, k + 2] = np.sin(year)
        out[i, k + 3] = np.cos(year)
        k += 4
        for f in range(forecast_hours.shape[0]):
            # persistence plus the typical-year trace's change from now to h + f
            load_ahead = idle + (1.0 - idle) * interp_hourly(util, h + forecast_hours[f])
            out[i, k] = load_now + (load_ahead - load_typical)
            wet_ahead = interp_hourly(wet_bulb, h + forecast_hours[f])
            out[i, k + 1] = (wet_now + (wet_ahead - wet_typical) - 15.0) / 10.0
            k += 2
        for c in range(k):
            out[i, c] = min(max(out[i, c], -10.0), 10.0)


def observation_names(spec: SiteSpec) -> list[str]:
    """The names of a site's observation features, in order."""
    names = ["outdoor_dry_bulb", "outdoor_wet_bulb", "it_load"]
    for z in range(len(spec.zones)):
        names += [f"zone{z}_inlet_max", f"zone{z}_inlet_mean"]
    names += ["chw_supply", "chw_return", "cw_supply", "cw_return", "supply_air"]
    names += ["chillers_on", "economizer_on"]
    names += [f"setpoint_{k}" for k in SetpointMap.from_spec(spec).names]
    names += ["time_of_day_sin", "time_of_day_cos", "time_of_year_sin", "time_of_year_cos"]
    for h in FORECAST_HOURS:
        names += [f"forecast_it_load_{h:g}h", f"forecast_wet_bulb_{h:g}h"]
    return names
