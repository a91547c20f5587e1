"""Pumps and fans: affinity laws with a minimum speed.

For one machine the affinity laws give Q ∝ n, H ∝ n², P ∝ n³. The part-load power is
written as the EnergyPlus/DOE-2 cubic in the flow fraction x::

    P / P_design = c1 + c2·x + c3·x² + c4·x³,   x = max(speed, speed_min)

with the ideal cube law ``(0, 0, 0, 1)`` for a variable-speed drive with pressure
reset, and the design power from the hydraulic power and the wire-to-water efficiency
``P_design = ṁ·g·H / η`` (η = η_pump·η_motor·η_VFD ≈ 0.75·0.93·0.96 ≈ 0.67).
PHYSICS.md §3; EnergyPlus ``Pump:VariableSpeed`` and ``Fan:VariableVolume``.
"""

from __future__ import annotations

import numpy as np

from cooling.plant._jit import jit
from cooling.units import G_M_S2

#: Ideal cube law (variable-speed drive with pressure reset), PHYSICS.md §3.
CUBE_LAW = (0.0, 0.0, 0.0, 1.0)

# Layout of a pump or fan record.
DESIGN_KW, MIN_SPEED, C1 = 0, 1, 2
RECORD_SIZE = 6


def design_power_kw(flow_kg_s: float, head_m: float, efficiency: float) -> float:
    """Electric design power [kW] = ṁ·g·H/η of a pump moving ``flow_kg_s`` against ``head_m``."""
    return flow_kg_s * G_M_S2 * head_m / efficiency / 1000.0


def record(
    design_kw: float, min_speed: float, curve: tuple[float, float, float, float] = CUBE_LAW
) -> np.ndarray:
    """Pack a pump or fan into the flat record the batched kernel reads."""
    rec = np.empty(RECORD_SIZE)
    rec[DESIGN_KW] = design_kw
    rec[MIN_SPEED] = min_speed
    rec[C1 : C1 + 4] = curve
    return rec


@jit
def power_kw(rec: np.ndarray, speed: float) -> float:
    """Electric power [kW] at ``speed`` (fraction of design flow, within [minimum, 1])."""
    x = min(max(speed, rec[MIN_SPEED]), 1.0)
    power: float = rec[DESIGN_KW] * (
        rec[C1] + x * (rec[C1 + 1] + x * (rec[C1 + 2] + x * rec[C1 + 3]))
    )
    return power
