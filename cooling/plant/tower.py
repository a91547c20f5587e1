"""Cooling towers: the YorkCalc approach correlation, cube-law fans and water use.

The approach ``A = T_w,out − T_wb`` [K] is the YorkCalc polynomial of EnergyPlus
``CoolingTower:VariableSpeed`` and Modelica ``Buildings.Fluid.HeatExchangers.
CoolingTowers.Correlations.yorkCalc``::

    A = Σ_k c_k · T_wb^(k mod 3) · R^((k div 3) mod 3) · LG^(k div 9)

with the range ``R = T_w,in − T_w,out`` [K] and ``LG = FR_water / FR_air`` (flow ratios
to design). The tower is calibrated like EnergyPlus's: ``LG_design`` is the liquid-to-gas
ratio at which the correlation returns the design approach at the design wet-bulb and
range, and the running ``LG = LG_design · FR_water / y`` with ``y`` the fan speed.
Inputs are clamped to the correlation's validity range (T_wb −34.4…26.7 °C,
R 1.1…22.2 K, LG ≤ 8); the result is applied as an effectiveness
``ε = R/(R + A)`` so that the tower always moves water towards the wet-bulb.

Fan power follows the cube law ``P = P_design·y³`` (Modelica default) above the minimum
speed; below it the fan stays at the minimum and a bypass valve holds the leaving water
at its setpoint. Water use: evaporation ``E = f_evap·Q/h_fg``, drift a fraction of the
circulating flow times the air-flow ratio (EnergyPlus default 0.008 %), blowdown
``B = E/(CoC − 1) − D`` (EnergyPlus default CoC = 3). PHYSICS.md §2.
"""

from __future__ import annotations

import math

import numpy as np

from cooling.plant._jit import jit
from cooling.units import H_FG_KJ_KG

#: The 27 YorkCalc coefficients, in EnergyPlus/Modelica order (PHYSICS.md §2).
YORKCALC = np.array(
    [
        -0.359741205, -0.055053608, 0.0023850432, 0.173926877, -0.0248473764,
        0.00048430224, -0.005589849456, 0.0005770079712, -1.342427256e-5,
        2.84765801111111, -0.121765149, 0.0014599242, 1.680428651, -0.0166920786,
        -0.0007190532, -0.025485194448, 4.87491696e-5, 2.719234152e-5,
        -0.0653766255555556, -0.002278167, 0.0002500254, -0.0910565458, 0.00318176316,
        3.8621772e-5, -0.0034285382352, 8.56589904e-6, -1.516821552e-6,
    ]
)  # fmt: skip
TWB_RANGE_C = (-34.4, 26.7)
RANGE_RANGE_K = (1.1, 22.2)
LG_MAX = 8.0

# Layout of the tower record (per cell; cells are staged with the condenser pumps).
LG_DESIGN, FAN_KW_DESIGN, FAN_MIN_SPEED, FLOW_KG_S = 0, 1, 2, 3
EVAP_FRACTION, DRIFT_FRACTION, CYCLES = 4, 5, 6
RECORD_SIZE = 7


@jit
def lg_polynomial(twb_c: float, range_k: float) -> tuple[float, float, float]:
    """Coefficients ``(a0, a1, a2)`` of the approach as a quadratic in LG at (T_wb, R)."""
    t = min(max(twb_c, TWB_RANGE_C[0]), TWB_RANGE_C[1])
    r = min(max(range_k, RANGE_RANGE_K[0]), RANGE_RANGE_K[1])
    c = YORKCALC
    # terms T^i·R^j for i, j in 0..2, in coefficient order (i fastest)
    t2 = t * t
    r2 = r * r
    basis = (1.0, t, t2, r, t * r, t2 * r, r2, t * r2, t2 * r2)
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    for k in range(9):
        a0 += c[k] * basis[k]
        a1 += c[9 + k] * basis[k]
        a2 += c[18 + k] * basis[k]
    return a0, a1, a2


@jit
def approach_k(twb_c: float, range_k: float, lg: float) -> float:
    """YorkCalc approach [K] (inputs clamped to the validity range)."""
    a0, a1, a2 = lg_polynomial(twb_c, range_k)
    x = min(lg, LG_MAX)
    return a0 + a1 * x + a2 * x * x


@jit
def _lg_for_approach(a0: float, a1: float, a2: float, target_a: float) -> float:
    """The LG at which a0 + a1·LG + a2·LG² = target_a on the rising branch (closed form).

    The root ``(−a1 + √D)/(2·a2)`` written as ``2(A* − a0)/(a1 + √D)``, which stays exact
    as a2 → 0; returns LG_MAX where no root exists.
    """
    disc = a1 * a1 - 4.0 * a2 * (a0 - target_a)
    if disc < 0.0:
        return LG_MAX
    den = a1 + math.sqrt(disc)
    if den <= 0.0:
        return LG_MAX
    return 2.0 * (target_a - a0) / den


@jit
def operate(
    rec: np.ndarray, inlet_c: float, range_k: float, twb_c: float, target_out_c: float
) -> tuple[float, float]:
    """A cell's fan speed and leaving-water temperature, the fan holding ``target_out_c``.

    The fan speed is the one at which YorkCalc gives the target's approach at the cell's
    range, within [y_min, 1]: full speed when even that is too warm, minimum speed when the
    minimum already makes colder water than the target (a bypass then trims it). The
    leaving water follows from the approach at that speed, applied as the effectiveness
    ε = R/(R + A) to ``inlet_c − T_wb`` (equal to ``T_wb + A`` within the validity range,
    and still physical outside it). Returns ``(fan_speed, outlet_c)``.
    """
    a0, a1, a2 = lg_polynomial(twb_c, range_k)
    lg_d = rec[LG_DESIGN]
    y_min = rec[FAN_MIN_SPEED]
    r = min(max(range_k, RANGE_RANGE_K[0]), RANGE_RANGE_K[1])
    if inlet_c <= target_out_c:
        lg = LG_MAX  # no cooling wanted: minimum speed
    else:
        # the approach whose effectiveness R/(R + A) takes inlet_c to the target
        wanted_a = r * (target_out_c - twb_c) / (inlet_c - target_out_c)
        lg = _lg_for_approach(a0, a1, a2, wanted_a)
    if lg <= lg_d:
        y = 1.0
    else:
        y = max(lg_d / min(lg, LG_MAX), y_min)
    x = min(lg_d / y, LG_MAX)
    a = a0 + a1 * x + a2 * x * x
    effectiveness = r / (r + max(a, 1e-3))
    return y, inlet_c - effectiveness * (inlet_c - twb_c)


@jit
def fan_speed_for_outlet(
    rec: np.ndarray, twb_c: float, range_k: float, target_out_c: float
) -> float:
    """Fan speed [-] in [y_min, 1] that brings the leaving water to ``target_out_c``."""
    return operate(rec, twb_c + range_k, range_k, twb_c, target_out_c)[0]


@jit
def outlet_c(
    rec: np.ndarray, inlet_c: float, range_k: float, twb_c: float, fan_speed: float
) -> float:
    """Leaving-water temperature [°C] of a cell at design water flow and ``fan_speed``."""
    a = approach_k(twb_c, range_k, rec[LG_DESIGN] / max(fan_speed, 1e-3))
    r = min(max(range_k, RANGE_RANGE_K[0]), RANGE_RANGE_K[1])
    effectiveness = r / (r + max(a, 1e-3))
    return inlet_c - effectiveness * (inlet_c - twb_c)


@jit
def fan_power_kw(rec: np.ndarray, fan_speed: float, cells: float) -> float:
    """Fan power [kW] of ``cells`` running cells at speed ``fan_speed`` (cube law)."""
    y = max(fan_speed, rec[FAN_MIN_SPEED])
    power: float = cells * rec[FAN_KW_DESIGN] * y * y * y
    return power


@jit
def water_use_kg_s(
    rec: np.ndarray, q_reject_kw: float, fan_speed: float, cells: float
) -> tuple[float, float, float]:
    """Make-up water of running cells [kg/s]: ``(evaporation, drift, blowdown)``."""
    if cells <= 0.0:
        return 0.0, 0.0, 0.0
    evap = rec[EVAP_FRACTION] * max(q_reject_kw, 0.0) / H_FG_KJ_KG
    drift = rec[DRIFT_FRACTION] * cells * rec[FLOW_KG_S] * fan_speed
    blowdown = max(evap / (rec[CYCLES] - 1.0) - drift, 0.0)
    return evap, drift, blowdown


def design_lg(design_twb_c: float, design_range_k: float, design_approach_k: float) -> float:
    """LG at which YorkCalc returns the design approach (EnergyPlus-style calibration)."""
    lo, hi = 0.2, LG_MAX
    if (
        not approach_k(design_twb_c, design_range_k, lo)
        < design_approach_k
        < approach_k(design_twb_c, design_range_k, hi)
    ):
        raise ValueError(
            f"tower design approach {design_approach_k} K is outside what YorkCalc gives at "
            f"wet-bulb {design_twb_c} °C and range {design_range_k} K"
        )
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if approach_k(design_twb_c, design_range_k, mid) > design_approach_k:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)
