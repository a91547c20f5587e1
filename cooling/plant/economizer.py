"""Waterside economizer: a plate heat exchanger between tower water and CHW return.

Integrated (in series upstream of the chillers), it pre-cools the chilled-water return
with tower water: ``Q = ε·C_min·(T_chwr − T_cws)``, never heating it, and never below the
chilled-water setpoint (its bypass trims it there). ε follows from the design approach:
``ε = ΔT_chw / (ΔT_chw + A_HX)`` at balanced design flows.

Its enable logic is the plant's own, after ASHRAE Guideline 36 and Modelica
``ChillerPlant.Economizers.Controller`` (PHYSICS.md §5): with the predicted HX leaving
temperature ``T_pred = T_wb + A_tower + A_HX``, enable when ``T_chwr − T_pred > 2 K``,
disable below 1 K, each change held at least 1200 s; the operator's (or agent's) enable
command gates it, and switching it off takes effect at once.
"""

from __future__ import annotations

import numpy as np

from cooling.plant._jit import jit
from cooling.units import CP_WATER_KJ_KG_K

# Layout of the economizer record.
FITTED, EFFECTIVENESS, HX_APPROACH_K, TOWER_APPROACH_K, ENABLE_K, DISABLE_K, HOLD_S = range(7)
RECORD_SIZE = 7


@jit
def predicted_outlet_c(rec: np.ndarray, twb_c: float) -> float:
    """G36 predicted HX leaving temperature [°C] at design approaches."""
    outlet: float = twb_c + rec[TOWER_APPROACH_K] + rec[HX_APPROACH_K]
    return outlet


@jit
def next_mode(
    rec: np.ndarray, active: float, timer_s: float, command: float, chwr_c: float, twb_c: float
) -> tuple[float, float]:
    """Economizer on/off for the next sub-step: ``(active, timer_s)``."""
    if rec[FITTED] < 0.5 or command < 0.5:
        return 0.0, timer_s if active < 0.5 else 0.0
    margin = chwr_c - predicted_outlet_c(rec, twb_c)
    if timer_s >= rec[HOLD_S]:
        if active < 0.5 and margin > rec[ENABLE_K]:
            return 1.0, 0.0
        if active >= 0.5 and margin < rec[DISABLE_K]:
            return 0.0, 0.0
    return active, timer_s


@jit
def heat_kw(
    rec: np.ndarray,
    chwr_c: float,
    cws_c: float,
    chw_kg_s: float,
    cw_kg_s: float,
    chws_set_c: float,
) -> float:
    """Heat [kW] the HX moves from chilled-water return to tower water (≥ 0)."""
    c_min = min(chw_kg_s, cw_kg_s) * CP_WATER_KJ_KG_K
    q = rec[EFFECTIVENESS] * c_min * (chwr_c - cws_c)
    q_to_setpoint = chw_kg_s * CP_WATER_KJ_KG_K * (chwr_c - chws_set_c)
    heat: float = max(min(q, q_to_setpoint), 0.0)
    return heat
