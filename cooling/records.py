"""Published performance data of plant components (data records, after Modelica's
``Buildings.Fluid.Chillers.Data``): swapping a chiller swaps its record."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChillerCurve:
    """Performance curves of one chiller model, as published (a data record)."""

    name: str
    source: str
    ref_chws_c: float
    ref_ecwt_c: float
    ref_cop: float
    capft: tuple[float, float, float, float, float, float]
    eirft: tuple[float, float, float, float, float, float]
    eirfplr: tuple[float, float, float]
    plr_min: float
    plr_min_unload: float
    plr_max: float
    chws_range_c: tuple[float, float]
    ecwt_range_c: tuple[float, float]


#: Published coefficient sets (EnergyPlus ``datasets/Chillers.idf``, CoolTools data;
#: mirrored in Modelica ``Buildings.Fluid.Chillers.Data.ElectricEIR``). PHYSICS.md §1.1.
CURVES: dict[str, ChillerCurve] = {
    "doe2_centrifugal_5.50cop": ChillerCurve(
        name="doe2_centrifugal_5.50cop",
        source="EnergyPlus datasets/Chillers.idf: ElectricEIRChiller DOE-2 Centrifugal/5.50COP",
        ref_chws_c=6.67,
        ref_ecwt_c=29.4,
        ref_cop=5.50,
        capft=(0.257896, 0.0389016, -0.00021708, 0.0468684, -0.00094284, -0.00034344),
        eirft=(0.933884, -0.058212, 0.00450036, 0.00243, 0.000486, -0.001215),
        eirfplr=(0.222903, 0.313387, 0.463710),
        plr_min=0.1,
        plr_min_unload=0.2,
        plr_max=1.0,
        chws_range_c=(5.0, 10.0),
        ecwt_range_c=(24.0, 35.0),
    ),
    "york_yt_1758kw_5.76cop_vsd": ChillerCurve(
        name="york_yt_1758kw_5.76cop_vsd",
        source="EnergyPlus datasets/Chillers.idf: ElectricEIRChiller York YT 1758kW/5.76COP/VSD",
        ref_chws_c=5.56,
        ref_ecwt_c=24.44,
        ref_cop=5.76,
        capft=(0.4575085, 0.1313508, -0.004408831, 0.01930354, -0.0005479641, -0.00137658),
        eirft=(0.6794525, 0.06694756, -0.003625396, -0.01018762, 0.001066394, -0.002113402),
        eirfplr=(0.07859908, 0.1950291, 0.7241581),
        plr_min=0.10,
        plr_min_unload=0.10,
        plr_max=1.02,
        chws_range_c=(5.56, 10.51),
        ecwt_range_c=(12.78, 24.44),
    ),
}
