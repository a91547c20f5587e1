"""Cooling tower: YorkCalc reference values and the behaviour its source describes."""

from __future__ import annotations

import numpy as np
import pytest

from cooling.plant import tower
from cooling.units import H_FG_KJ_KG


def _rec(lg_design=1.0, fan_kw=10.0, y_min=0.3):
    rec = np.zeros(tower.RECORD_SIZE)
    rec[tower.LG_DESIGN] = lg_design
    rec[tower.FAN_KW_DESIGN] = fan_kw
    rec[tower.FAN_MIN_SPEED] = y_min
    rec[tower.FLOW_KG_S] = 100.0
    rec[tower.EVAP_FRACTION] = 0.85
    rec[tower.DRIFT_FRACTION] = 0.00008
    rec[tower.CYCLES] = 3.0
    return rec


def _yorkcalc_by_hand(twb, r, lg):
    return sum(
        c * twb ** (k % 3) * r ** ((k // 3) % 3) * lg ** (k // 9)
        for k, c in enumerate(tower.YORKCALC)
    )


@pytest.mark.parametrize(
    ("twb", "r", "lg"), [(25.55, 5.56, 1.0), (10.0, 3.0, 2.0), (0.0, 10.0, 0.5)]
)
def test_approach_matches_the_polynomial_evaluated_by_hand(twb, r, lg):
    assert tower.approach_k(twb, r, lg) == pytest.approx(_yorkcalc_by_hand(twb, r, lg), rel=1e-12)


def test_design_point_of_modelica_defaults():
    # Modelica YorkCalc defaults: T_wb 25.55 °C, range 5.56 K, approach 3.89 K at LG ≈ 1.
    assert tower.approach_k(25.55, 5.56, 1.0) == pytest.approx(3.84, abs=0.01)
    assert tower.design_lg(25.55, 5.56, 3.89) == pytest.approx(1.0, abs=0.05)


def test_approach_falls_with_fan_speed_rises_with_range_falls_with_wet_bulb():
    rec = _rec()
    speeds = np.linspace(0.3, 1.0, 8)
    a = [tower.approach_k(20.0, 5.0, rec[tower.LG_DESIGN] / y) for y in speeds]
    assert np.all(np.diff(a) < 0)
    assert tower.approach_k(20.0, 8.0, 1.0) > tower.approach_k(20.0, 4.0, 1.0)
    assert tower.approach_k(10.0, 5.0, 1.0) > tower.approach_k(20.0, 5.0, 1.0)


def test_fan_holds_the_target_when_it_can():
    rec = _rec()
    y, out = tower.operate(rec, 30.0, 5.0, 15.0, 24.0)
    assert 0.3 < y < 1.0
    assert out == pytest.approx(24.0, abs=1e-6)
    # an unreachable target: full speed, water still above the wet-bulb
    y, out = tower.operate(rec, 30.0, 5.0, 24.0, 24.5)
    assert y == 1.0 and 24.5 < out < 30.0
    # an easy target: minimum speed, water colder than the target (a bypass trims it)
    y, out = tower.operate(rec, 15.0, 5.0, 2.0, 14.0)
    assert y == pytest.approx(0.3) and out < 14.0


def test_fan_power_is_cube_law_above_minimum_speed():
    rec = _rec(fan_kw=10.0)
    assert tower.fan_power_kw(rec, 1.0, 2.0) == pytest.approx(20.0)
    assert tower.fan_power_kw(rec, 0.5, 1.0) == pytest.approx(10.0 * 0.125)
    assert tower.fan_power_kw(rec, 0.1, 1.0) == pytest.approx(10.0 * 0.3**3)


def test_water_use_evaporation_drift_blowdown():
    rec = _rec()
    evap, drift, blow = tower.water_use_kg_s(rec, 1000.0, 1.0, 1.0)
    assert evap == pytest.approx(0.85 * 1000.0 / H_FG_KJ_KG)
    assert drift == pytest.approx(0.00008 * 100.0)
    assert blow == pytest.approx(evap / 2.0 - drift)
    # ≈ 1.26 L of evaporation per kWh rejected (≤ 1.48, PHYSICS.md §2)
    assert evap * 3600 / 1000 == pytest.approx(1.26, abs=0.01)
