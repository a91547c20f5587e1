"""Zones of server racks: mixing at the inlet, server fans and leakage, rack thermal mass.

Inlet air is supply air mixed with recirculated hot air [Sharma et al. 2002]::

    T_in = (1 − r)·T_sa + r·T_out

with ``r`` the zone's mean recirculation (and a larger one for its hottest rack).
Server power [Barroso & Hölzle 2007; PHYSICS.md §4]::

    P_IT  = P_compute·(1 + k_leak·max(T_in − T_ref, 0)) + P_fan
    P_fan = P_fan,max·s³,  s = s_min for T_in ≤ T_knee, linear to 1 at T_full

so that total server power rises about 0.4-0.5 %/K between 25 and 30 °C inlet
(Coroamă, arXiv 2509.26163: +0.35-0.5 %/°C measured for 23-30 °C). Server fans count as
IT power. Server air flow is proportional to fan speed, ``ṁ = ṁ_design·s/s_min`` with
``ṁ_design`` carrying the rated power at ``ΔT_design``. The racks and the hot-aisle air
are one thermal mass C per zone::

    C·dT_out/dt = P_IT − ṁ·c_p·(1 − r)·(T_out − T_sa)      (τ = C/(ṁ c_p (1 − r)) ≈ 5-10 min)

integrated exactly over a sub-step with T_sa, P_IT and ṁ held (exponential update), so it
is stable at any step; the heat handed to the air is ``P_IT·dt − C·ΔT_out`` exactly.
"""

from __future__ import annotations

import math

import numpy as np

from cooling.plant._jit import jit
from cooling.units import CP_AIR_KJ_KG_K

# Layout of the server record (one per plant).
FAN_FRACTION, FAN_MIN_SPEED, FAN_KNEE_C, FAN_FULL_C, LEAKAGE_PER_K, LEAKAGE_REF_C = range(6)
SERVER_RECORD_SIZE = 6

# Layout of one zone's record.
RATED_KW, RECIRCULATION, HOT_RECIRCULATION, HEAT_CAPACITY_KJ_K, AIR_DESIGN_KG_S = range(5)
ZONE_RECORD_SIZE = 5


@jit
def fan_speed(rec: np.ndarray, inlet_c: float) -> float:
    """Server fan speed [-]: minimum up to the knee, then linear to 1 at ``FAN_FULL_C``."""
    s_min = rec[FAN_MIN_SPEED]
    frac = (inlet_c - rec[FAN_KNEE_C]) / (rec[FAN_FULL_C] - rec[FAN_KNEE_C])
    speed: float = s_min + (1.0 - s_min) * min(max(frac, 0.0), 1.0)
    return speed


@jit
def server_power_kw(
    rec: np.ndarray, rated_kw: float, compute_kw: float, inlet_c: float
) -> tuple[float, float, float]:
    """``(it_kw, fan_kw, speed)``: total server power incl. fans, the fans' part, fan speed."""
    s = fan_speed(rec, inlet_c)
    fan = rec[FAN_FRACTION] * rated_kw * s * s * s
    leak = compute_kw * rec[LEAKAGE_PER_K] * max(inlet_c - rec[LEAKAGE_REF_C], 0.0)
    return compute_kw + leak + fan, fan, s


@jit
def zone_update(
    exhaust_c: float,
    supply_air_c: float,
    it_kw: float,
    air_kg_s: float,
    recirculation: float,
    heat_capacity_kj_k: float,
    dt_s: float,
) -> tuple[float, float]:
    """Exact update of the zone's exhaust temperature over ``dt_s``.

    Returns ``(exhaust_c, heat_to_air_kj)``, the heat the zone handed to the CRAH return
    over the sub-step.
    """
    g = air_kg_s * CP_AIR_KJ_KG_K * (1.0 - recirculation)  # kW/K
    t_eq = supply_air_c + it_kw / g
    new = t_eq + (exhaust_c - t_eq) * math.exp(-dt_s * g / heat_capacity_kj_k)
    return new, it_kw * dt_s - heat_capacity_kj_k * (new - exhaust_c)


@jit
def recirculation_at(design_recirculation: float, airflow: float) -> float:
    """Recirculation share of the inlet air when the CRAH units supply ``airflow`` times
    the air flow that holds the design airflow ratio.

    The bypass share of the CRAH air is held at its design value, so the air that reaches
    the inlets scales with ``airflow`` and the servers draw the rest from their own
    exhaust (mass balance at the inlets; Tozer, Kurkjian & Salim, "Air management metrics
    in data centers", ASHRAE Trans. 115(1), 2009)::

        1 − r = airflow·(1 − r_design)

    for ``airflow`` up to 1 (the plant turns the fans down, never up: more air would only
    add bypass, which this form does not carry); r is kept within [0, 0.95] all the same.
    Holding the bypass share is conservative: in a real hall less air also means a lower
    cold-aisle pressure and less bypass, so less recirculation than this.
    """
    # written so that ``airflow == 1`` gives the design value exactly
    r: float = design_recirculation + (1.0 - airflow) * (1.0 - design_recirculation)
    return min(max(r, 0.0), 0.95)


@jit
def inlet_c(supply_air_c: float, exhaust_c: float, recirculation: float) -> float:
    """Rack inlet temperature [°C] with recirculation ``r``."""
    return (1.0 - recirculation) * supply_air_c + recirculation * exhaust_c
