"""CRAH units: a dry chilled-water coil (counterflow ε-NTU) and EC fans.

The coil, after Modelica ``Buildings.Fluid.HeatExchangers.DryCoilEffectivenessNTU``::

    C_a = ṁ_a c_pa,  C_w = ṁ_w c_pw,  Cr = C_min/C_max,  NTU = UA/C_min
    ε   = [1 − exp(−NTU(1 − Cr))] / [1 − Cr·exp(−NTU(1 − Cr))]
    1/UA = 1/hA_w + 1/hA_a,   hA_x = hA_x,design · (ṁ_x/ṁ_x,design)^n
    n = 0.8 (air), 0.85 (water)

All CRAH units of a plant are lumped into one equivalent coil that serves the mixed
return air of every zone and takes the whole chilled-water flow. The unit holds its
supply-air setpoint while its capacity allows; beyond it the supply air warms up.
Air that the CRAHs move beyond what the servers draw (oversupply) bypasses the racks
and mixes into the return. The fans are EC fans following the cube law (pump module),
their heat entering the air before the coil (blow-through). PHYSICS.md §4.
"""

from __future__ import annotations

import math

import numpy as np

from cooling.plant._jit import jit
from cooling.units import CP_AIR_KJ_KG_K, CP_WATER_KJ_KG_K

N_AIR = 0.8
N_WATER = 0.85

# Layout of the (lumped) CRAH record.
HA_AIR_KW_K, HA_WATER_KW_K, AIR_DESIGN_KG_S, WATER_DESIGN_KG_S, OVERSUPPLY = 0, 1, 2, 3, 4
RECORD_SIZE = 5


@jit
def counterflow_effectiveness(ntu: float, cr: float) -> float:
    """Effectiveness [-] of a counterflow heat exchanger."""
    if ntu <= 0.0:
        return 0.0
    if abs(1.0 - cr) < 1e-9:
        return ntu / (1.0 + ntu)
    e = math.exp(-ntu * (1.0 - cr))
    return (1.0 - e) / (1.0 - cr * e)


def counterflow_ntu(effectiveness: float, cr: float) -> float:
    """Inverse of :func:`counterflow_effectiveness` (NTU for a wanted ε), for sizing."""
    if abs(1.0 - cr) < 1e-9:
        return effectiveness / (1.0 - effectiveness)
    return math.log((1.0 - effectiveness * cr) / (1.0 - effectiveness)) / (1.0 - cr)


@jit
def coil_effectiveness(rec: np.ndarray, air_kg_s: float, water_kg_s: float) -> tuple[float, float]:
    """``(ε, C_min [kW/K])`` of the coil at the given air and water flows."""
    if air_kg_s <= 0.0 or water_kg_s <= 0.0:
        return 0.0, 0.0
    ha_a = rec[HA_AIR_KW_K] * (air_kg_s / rec[AIR_DESIGN_KG_S]) ** N_AIR
    ha_w = rec[HA_WATER_KW_K] * (water_kg_s / rec[WATER_DESIGN_KG_S]) ** N_WATER
    ua = 1.0 / (1.0 / ha_a + 1.0 / ha_w)
    c_a = air_kg_s * CP_AIR_KJ_KG_K
    c_w = water_kg_s * CP_WATER_KJ_KG_K
    c_min = min(c_a, c_w)
    c_max = max(c_a, c_w)
    return counterflow_effectiveness(ua / c_min, c_min / c_max), c_min


@jit
def supply_air_c(
    rec: np.ndarray,
    hot_air_c: float,
    hot_air_kg_s: float,
    fan_kw: float,
    chws_c: float,
    water_kg_s: float,
    supply_air_set_c: float,
) -> tuple[float, float]:
    """Supply-air temperature [°C] the coil delivers, and the CRAH air flow [kg/s].

    ``hot_air_c`` is the mixed exhaust returning from the racks at ``hot_air_kg_s``; the
    oversupply bypasses the racks at the supply temperature, so the coil sees
    ``T_in = (1−β)·T_hot + β·T_sa + P_fan/C_a`` with β the bypass share. The setpoint
    holds if the coil can reach it; otherwise the capacity-limited supply temperature
    (solved in closed form) results. The coil never heats the air.
    """
    air = hot_air_kg_s * (1.0 + rec[OVERSUPPLY])
    if air <= 0.0:
        return supply_air_set_c, 0.0
    beta = rec[OVERSUPPLY] / (1.0 + rec[OVERSUPPLY])
    dt_fan = fan_kw / (air * CP_AIR_KJ_KG_K)
    eff, c_min = coil_effectiveness(rec, air, water_kg_s)
    alpha = eff * c_min / (air * CP_AIR_KJ_KG_K)  # fraction of (T_in − T_chws) removed
    # Capacity-limited supply air: T_sa = (1−α)·T_in + α·T_chws with T_in depending on T_sa.
    sa_limited = ((1.0 - alpha) * ((1.0 - beta) * hot_air_c + dt_fan) + alpha * chws_c) / (
        1.0 - (1.0 - alpha) * beta
    )
    sa = max(supply_air_set_c, sa_limited)
    coil_in = (1.0 - beta) * hot_air_c + beta * sa + dt_fan
    return min(sa, coil_in), air


def design_ha(
    design_load_kw: float,
    air_kg_s: float,
    water_kg_s: float,
    chws_c: float,
    supply_air_c: float,
) -> tuple[float, float]:
    """Size the coil: the air- and water-side hA [kW/K] that deliver ``design_load_kw``
    with air leaving at ``supply_air_c`` from water entering at ``chws_c``.

    The two film conductances are taken equal (their split only shapes off-design flow
    dependence).
    """
    c_a = air_kg_s * CP_AIR_KJ_KG_K
    c_w = water_kg_s * CP_WATER_KJ_KG_K
    air_in_c = supply_air_c + design_load_kw / c_a
    c_min, c_max = min(c_a, c_w), max(c_a, c_w)
    effectiveness = design_load_kw / (c_min * (air_in_c - chws_c))
    if not 0.0 < effectiveness < 1.0:
        raise ValueError(f"coil cannot be sized: design effectiveness {effectiveness:.3f}")
    ua = counterflow_ntu(effectiveness, c_min / c_max) * c_min
    return 2.0 * ua, 2.0 * ua
