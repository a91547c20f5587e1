from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cooling.plant import pump


def test_design_power_is_hydraulic_power_over_efficiency():
    # 100 kg/s against 25 m at η = 0.65: 100·9.80665·25/0.65 W
    assert pump.design_power_kw(100.0, 25.0, 0.65) == pytest.approx(37.718, abs=1e-3)


@given(x=st.floats(min_value=0.3, max_value=1.0), y=st.floats(min_value=0.3, max_value=1.0))
def test_cube_law_above_minimum_speed(x, y):
    rec = pump.record(50.0, 0.3)
    assert pump.power_kw(rec, x) * y**3 == pytest.approx(pump.power_kw(rec, y) * x**3)


def test_minimum_speed_floor_and_maximum():
    rec = pump.record(50.0, 0.4)
    assert pump.power_kw(rec, 0.1) == pytest.approx(50.0 * 0.4**3)
    assert pump.power_kw(rec, 1.3) == pytest.approx(50.0)
