"""CRAH coil and rack models."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cooling.plant import crah, racks


def test_counterflow_effectiveness_reference_and_inverse():
    expected = (1 - math.exp(-0.5)) / (1 - 0.5 * math.exp(-0.5))
    assert crah.counterflow_effectiveness(1.0, 0.5) == pytest.approx(expected)
    assert crah.counterflow_effectiveness(2.0, 1.0) == pytest.approx(2.0 / 3.0)
    for eff, cr in [(0.5, 0.3), (0.8, 0.9), (0.6, 1.0)]:
        ntu = crah.counterflow_ntu(eff, cr)
        assert crah.counterflow_effectiveness(ntu, cr) == pytest.approx(eff)


def _coil():
    rec = np.zeros(crah.RECORD_SIZE)
    air, water = 80.0, 40.0
    ha_a, ha_w = crah.design_ha(1000.0, air, water, 7.0, 18.0)
    rec[:] = (ha_a, ha_w, air, water, 0.0)
    return rec


def test_coil_sized_at_design_delivers_design_supply_air():
    rec = _coil()
    hot = 18.0 + 1000.0 / (80.0 * 1.006)
    sa, _ = crah.supply_air_c(rec, hot, 80.0, 0.0, 7.0, 40.0, 15.0)
    assert sa == pytest.approx(18.0, abs=1e-6)  # capacity-limited exactly at design
    sa, _ = crah.supply_air_c(rec, hot, 80.0, 0.0, 7.0, 40.0, 20.0)
    assert sa == 20.0  # setpoint within capacity
    sa_warm, _ = crah.supply_air_c(rec, hot, 80.0, 0.0, 12.0, 40.0, 18.0)
    assert sa_warm > 18.5  # warmer chilled water: the supply air cannot be held


def test_server_fans_ramp_above_knee_and_power_rises_per_kelvin():
    rec = np.zeros(racks.SERVER_RECORD_SIZE)
    rec[:] = (0.08, 0.3, 25.0, 35.0, 0.0015, 20.0)
    assert racks.fan_speed(rec, 20.0) == pytest.approx(0.3)
    assert racks.fan_speed(rec, 35.0) == pytest.approx(1.0)
    p23 = racks.server_power_kw(rec, 100.0, 70.0, 23.0)[0]
    p30 = racks.server_power_kw(rec, 100.0, 70.0, 30.0)[0]
    per_k = (p30 / p23 - 1.0) / 7.0
    # Coroamă 2025: +0.35-0.5 %/°C for 23-30 °C inlet (we allow 0.3-0.6)
    assert 0.003 <= per_k <= 0.006


def test_zone_update_is_exact_and_conserves_heat():
    new, q = racks.zone_update(30.0, 18.0, 100.0, 8.0, 0.1, 2000.0, 60.0)
    assert q == pytest.approx(100.0 * 60.0 - 2000.0 * (new - 30.0))
    # converges to the equilibrium T_sa + P/(ṁ c_p (1 − r))
    t = 30.0
    for _ in range(200):
        t, _ = racks.zone_update(t, 18.0, 100.0, 8.0, 0.1, 2000.0, 60.0)
    assert t == pytest.approx(18.0 + 100.0 / (8.0 * 1.006 * 0.9), abs=1e-6)
    # stable with a step far longer than the time constant
    t_big, _ = racks.zone_update(30.0, 18.0, 100.0, 8.0, 0.1, 2000.0, 1e5)
    assert t_big == pytest.approx(18.0 + 100.0 / (8.0 * 1.006 * 0.9))


def test_recirculation_closes_the_inlet_mass_balance_at_any_crah_air_flow():
    """The air reaching the inlets scales with the CRAH air flow (bypass share held), so
    the servers draw the deficit from their exhaust: 1 − r = airflow·(1 − r_design)."""
    for r_design in (0.0, 0.03, 0.12, 0.3):
        assert racks.recirculation_at(r_design, 1.0) == r_design  # exactly, not within ulp
        for airflow in (0.5, 0.6, 0.8, 0.9, 0.99):
            r = racks.recirculation_at(r_design, airflow)
            assert 1.0 - r == pytest.approx(airflow * (1.0 - r_design), rel=1e-12)
            assert r > r_design
    # far outside the plant's range (0.5-1.0) it is still a share of the inlet air
    assert racks.recirculation_at(0.3, 0.01) == 0.95
