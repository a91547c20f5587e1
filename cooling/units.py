"""Physical constants and unit conversions.

SI inside the package, with temperatures in °C where the trade uses them (curve fits,
setpoints) and in K only in thermodynamic formulas such as the Carnot COP. Names carry
their units (``power_kw``, ``flow_kg_s``); this module holds the few constants and
conversions shared by the components, so that no number is typed twice.
"""

from __future__ import annotations

#: Specific heat of liquid water near 10-30 °C [kJ/(kg·K)] (IAPWS-95 at 20 °C: 4.184).
CP_WATER_KJ_KG_K = 4.186
#: Density of water [kg/m³] (20 °C).
RHO_WATER_KG_M3 = 998.0
#: Specific heat of dry air at constant pressure [kJ/(kg·K)].
CP_AIR_KJ_KG_K = 1.006
#: Density of air at about 20 °C and sea level [kg/m³].
RHO_AIR_KG_M3 = 1.2
#: Latent heat of vaporisation of water at 30 °C [kJ/kg] (PHYSICS.md §2: h_fg ≈ 2.43 MJ/kg).
H_FG_KJ_KG = 2430.0
#: Standard gravity [m/s²].
G_M_S2 = 9.80665
#: 0 °C in K.
ZERO_C_IN_K = 273.15

SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0
HOURS_PER_YEAR = 8760


def c_to_k(temp_c: float) -> float:
    """Convert a temperature from °C to K."""
    return temp_c + ZERO_C_IN_K


def kw_s_to_kwh(energy_kj: float) -> float:
    """Convert energy from kJ (kW·s) to kWh."""
    return energy_kj / SECONDS_PER_HOUR


def kg_water_to_l(mass_kg: float) -> float:
    """Convert a mass of water [kg] to its volume [L] at 20 °C."""
    return mass_kg * 1000.0 / RHO_WATER_KG_M3
