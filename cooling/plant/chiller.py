"""Electric chillers: the DOE-2 / EnergyPlus ``Chiller:Electric:EIR`` model.

With ``T_s`` the leaving chilled-water temperature [°C] and ``T_c`` the entering
condenser-water temperature [°C]::

    CAPFT   = a + b·T_s + c·T_s² + d·T_c + e·T_c² + f·T_s·T_c      (≥ 0)
    EIRFT   = same biquadratic form, own coefficients
    Q_avail = Q_ref · CAPFT
    PLR     = min(Q / Q_avail, PLR_max);   PLR' = max(PLR, PLR_min_unload)
    EIRFPLR = a + b·PLR' + c·PLR'²
    CR      = min(PLR / PLR_min, 1)                 (on/off cycling below PLR_min)
    P       = Q_avail / COP_ref · EIRFT · EIRFPLR · CR

Curve inputs are clamped to the curve's validity range, as EnergyPlus and Modelica do,
and beyond it the EIR is extrapolated at constant second-law efficiency of the
refrigerant cycle (see :func:`eir_ft`), so that the model stays monotone and below
Carnot wherever a controller takes it.

All compressor power is taken to end up in the condenser water (hermetic motor,
η_motor = 1 in ``Q_cond = P·η_motor + Q_evap``).

References: EnergyPlus Engineering Reference, "Electric Chiller Model Based on Condenser
Entering Temperature"; EnergyPlus ``datasets/Chillers.idf``; Modelica Buildings
``Buildings.Fluid.Chillers.ElectricEIR`` and ``Buildings.Fluid.Chillers.Data.ElectricEIR``;
Hydeman et al. 2002 (CoolTools).
"""

from __future__ import annotations

import numpy as np

from cooling.plant._jit import jit
from cooling.records import CURVES, ChillerCurve
from cooling.units import ZERO_C_IN_K

__all__ = ["CURVES", "ChillerCurve"]


# Layout of the chiller's record in the plant parameter vector.
Q_REF_KW, COP_REF = 0, 1
CAPFT0, EIRFT0, EIRFPLR0 = 2, 8, 14
PLR_MIN, PLR_MIN_UNLOAD, PLR_MAX = 17, 18, 19
CHWS_LO, CHWS_HI, ECWT_LO, ECWT_HI = 20, 21, 22, 23
REF_CHWS, REF_ECWT = 24, 25
RECORD_SIZE = 26

#: Refrigerant-side temperature differences for the Carnot COP of the cycle
#: (PHYSICS.md §9: T_L ≈ T_chws − 2 K, T_H ≈ T_cond,out + 2 K, with the condenser water
#: leaving about one design range, 5.56 K, above the entering water).
EVAPORATOR_DT_K = 2.0
CONDENSER_DT_K = 2.0 + 5.56
#: Floor of the refrigerant lift [K] (a compressor always needs some).
MIN_CYCLE_LIFT_K = 1.0
#: Cap on the second-law efficiency against the cycle's Carnot COP. Inside their data
#: both published curves stay within 0.3-0.65; the cap binds only where the one-variable
#: extrapolations combine far outside (very warm chilled water with hot condenser water).
ETA_II_MAX = 0.7


def record(curve: ChillerCurve, capacity_kw: float, cop_ref: float | None = None) -> np.ndarray:
    """Pack one chiller's data into the flat record the batched kernel reads.

    ``capacity_kw`` is the reference evaporator capacity Q_ref [kW] at the curve's
    reference temperatures; ``cop_ref`` overrides the published reference COP.
    """
    rec = np.empty(RECORD_SIZE)
    rec[Q_REF_KW] = capacity_kw
    rec[COP_REF] = curve.ref_cop if cop_ref is None else cop_ref
    rec[CAPFT0 : CAPFT0 + 6] = curve.capft
    rec[EIRFT0 : EIRFT0 + 6] = curve.eirft
    rec[EIRFPLR0 : EIRFPLR0 + 3] = curve.eirfplr
    rec[PLR_MIN], rec[PLR_MIN_UNLOAD], rec[PLR_MAX] = (
        curve.plr_min,
        curve.plr_min_unload,
        curve.plr_max,
    )
    rec[CHWS_LO], rec[CHWS_HI] = curve.chws_range_c
    rec[ECWT_LO], rec[ECWT_HI] = curve.ecwt_range_c
    rec[REF_CHWS], rec[REF_ECWT] = curve.ref_chws_c, curve.ref_ecwt_c
    return rec


@jit
def biquadratic(rec: np.ndarray, k0: int, x: float, y: float) -> float:
    """a + b·x + c·x² + d·y + e·y² + f·x·y with coefficients ``rec[k0:k0+6]``."""
    value: float = (
        rec[k0]
        + rec[k0 + 1] * x
        + rec[k0 + 2] * x * x
        + rec[k0 + 3] * y
        + rec[k0 + 4] * y * y
        + rec[k0 + 5] * x * y
    )
    return value


@jit
def carnot_cop(chws_c: float, ecwt_c: float) -> float:
    """Carnot COP T_L/(T_H − T_L) [-] between the chilled- and condenser-water temperatures.

    Returns ``inf`` when the condenser water is not warmer than the chilled water.
    """
    lift_k = ecwt_c - chws_c
    if lift_k <= 0.0:
        return np.inf
    return (chws_c + ZERO_C_IN_K) / lift_k


@jit
def cycle_carnot_cop(chws_c: float, ecwt_c: float) -> float:
    """Carnot COP [-] between the refrigerant's evaporating and condensing temperatures.

    ``T_L = T_chws − 2 K``, ``T_H = T_ecwt + 7.56 K`` (PHYSICS.md §9): the ideal cycle a
    real chiller is measured against; always below :func:`carnot_cop` of the waters.
    """
    t_low = chws_c - EVAPORATOR_DT_K + ZERO_C_IN_K
    lift_k = max(ecwt_c + CONDENSER_DT_K - chws_c + EVAPORATOR_DT_K, MIN_CYCLE_LIFT_K)
    return t_low / lift_k


@jit
def _clamp(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


@jit
def available_capacity_kw(rec: np.ndarray, chws_c: float, ecwt_c: float) -> float:
    """Available evaporator capacity Q_ref·CAPFT [kW] of one chiller."""
    ts = _clamp(chws_c, rec[CHWS_LO], rec[CHWS_HI])
    tc = _clamp(ecwt_c, rec[ECWT_LO], rec[ECWT_HI])
    capacity: float = rec[Q_REF_KW] * max(biquadratic(rec, CAPFT0, ts, tc), 0.0)
    return capacity


@jit
def eir_ft(rec: np.ndarray, chws_c: float, ecwt_c: float) -> float:
    """EIRFT [-]: the biquadratic inside its validity range, extrapolated outside it.

    Outside the range the EIR follows the inverse Carnot COP of the refrigerant cycle
    (:func:`cycle_carnot_cop`), at the second-law efficiency of the range's edge, one
    variable at a time with the other at the curve's reference point::

        EIR = EIRFT(T_s,clamped, T_c,clamped) · f_s(T_s) · f_c(T_c)
        f_s = COP_cyc(T_s,clamped, T_c,ref) / COP_cyc(T_s, T_c,ref)
        f_c = COP_cyc(T_s,ref, T_c,clamped) / COP_cyc(T_s,ref, T_c)

    so that warmer chilled water or colder condenser water beyond the data still earn
    the credit thermodynamics gives them (about 4-5 %/K, PHYSICS.md §1.1), the model is
    monotone everywhere, and it never beats Carnot. Both published fits also bend back in
    a corner of their range (DOE-2: T_s > 9.7 °C at T_c < 25 °C; York: T_c < 15 °C at
    T_s > 9 °C) by < 0.5 %; warmer chilled water or colder condenser water cannot need
    more work per unit of cooling, so the curve is held at its stationary point there.
    """
    ts = _clamp(chws_c, rec[CHWS_LO], rec[CHWS_HI])
    tc = _clamp(ecwt_c, rec[ECWT_LO], rec[ECWT_HI])
    ts_fit = ts
    tc_fit = tc
    c2 = rec[EIRFT0 + 2]
    if c2 > 0.0:
        ts_fit = min(ts_fit, -(rec[EIRFT0 + 1] + rec[EIRFT0 + 5] * tc_fit) / (2.0 * c2))
    e2 = rec[EIRFT0 + 4]
    if e2 > 0.0:
        tc_fit = max(tc_fit, -(rec[EIRFT0 + 3] + rec[EIRFT0 + 5] * ts_fit) / (2.0 * e2))
    eir = max(biquadratic(rec, EIRFT0, ts_fit, tc_fit), 1e-6)
    if ts != chws_c:
        tc_ref = rec[REF_ECWT]
        eir *= cycle_carnot_cop(ts, tc_ref) / cycle_carnot_cop(chws_c, tc_ref)
    if tc != ecwt_c:
        ts_ref = rec[REF_CHWS]
        eir *= cycle_carnot_cop(ts_ref, tc) / cycle_carnot_cop(ts_ref, ecwt_c)
    # never better than ETA_II_MAX of the cycle's Carnot COP (monotone, like the rest)
    floor: float = 1.0 / (ETA_II_MAX * cycle_carnot_cop(chws_c, ecwt_c)) * rec[COP_REF]
    return max(eir, floor)


@jit
def eir_fplr(rec: np.ndarray, plr: float) -> float:
    """EIRFPLR [-] at the part-load ratio, with false loading below PLR_min_unload."""
    p = max(plr, rec[PLR_MIN_UNLOAD])
    eir: float = rec[EIRFPLR0] + rec[EIRFPLR0 + 1] * p + rec[EIRFPLR0 + 2] * p * p
    return eir


@jit
def operate(
    rec: np.ndarray, q_request_kw: float, chws_c: float, ecwt_c: float
) -> tuple[float, float, float]:
    """One chiller asked for ``q_request_kw`` of cooling at the given temperatures.

    Returns ``(q_evap_kw, power_kw, plr)``: the cooling it delivers (at most
    PLR_max·Q_avail), its electric power and its part-load ratio.
    """
    q_avail = available_capacity_kw(rec, chws_c, ecwt_c)
    if q_avail <= 0.0 or q_request_kw <= 0.0:
        return 0.0, 0.0, 0.0
    q_evap = min(q_request_kw, rec[PLR_MAX] * q_avail)
    plr = q_evap / q_avail
    cycling_ratio = min(plr / rec[PLR_MIN], 1.0)
    power = (
        q_avail / rec[COP_REF] * eir_ft(rec, chws_c, ecwt_c) * eir_fplr(rec, plr) * cycling_ratio
    )
    return q_evap, power, plr


@jit
def cop(rec: np.ndarray, chws_c: float, ecwt_c: float, plr: float) -> float:
    """COP [-] of one chiller at a part-load ratio (convenience for tests and reports)."""
    q_avail = available_capacity_kw(rec, chws_c, ecwt_c)
    q_evap, power, _ = operate(rec, plr * q_avail, chws_c, ecwt_c)
    if power <= 0.0:
        return 0.0
    return q_evap / power


@jit
def next_stage(
    n_on: float,
    n_installed: float,
    timer_s: float,
    q_load_kw: float,
    q_avail_each_kw: float,
    stage_up_plr: float,
    stage_down_plr: float,
    wait_s: float,
) -> tuple[float, float]:
    """Chiller staging of the plant's own controls (not an agent's action).

    Stage up when the load exceeds ``stage_up_plr`` of the running capacity; stage down
    when the remaining chillers would run at or below ``stage_down_plr``; every change
    waits ``wait_s`` since the last one (anti-short-cycling). After ASHRAE Guideline 36
    plant sequences and Modelica ``DataCenters.ChillerCooled.Controls.ChillerStage``
    (PHYSICS.md §1.2). Returns ``(n_on, timer_s)``.
    """
    if timer_s >= wait_s:
        if n_on < n_installed and q_load_kw > stage_up_plr * n_on * q_avail_each_kw:
            return n_on + 1.0, 0.0
        if n_on > 0.0 and q_load_kw <= stage_down_plr * (n_on - 1.0) * q_avail_each_kw:
            return n_on - 1.0, 0.0
    return n_on, timer_s
