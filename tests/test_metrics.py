from __future__ import annotations

import numpy as np
import pytest

from cooling import metrics
from cooling.plant import plant as plantmod


def test_definitions():
    assert metrics.pue(1500.0, 1000.0) == 1.5
    assert metrics.cooling_ppue(300.0, 1000.0) == 1.3
    assert metrics.wue(2000.0, 1000.0) == 2.0
    assert metrics.carbon_kg(np.array([10.0, 20.0]), np.array([500.0, 250.0])) == 10.0
    assert np.isnan(metrics.pue(1.0, 0.0))


def test_accumulator_counts_violation_minutes_and_energy():
    n = 2
    acc = metrics.Accumulator(n, 300.0)
    inlets = [[26.0, 27.5], [33.0, 20.0], [24.0, 20.0]]
    for k in range(3):
        tel = plantmod.Telemetry(np.zeros((n, len(plantmod.TELEMETRY_NAMES))))
        tel.it_kw[:] = 1000.0
        tel.facility_kw[:] = 1400.0
        tel.cooling_kw[:] = 300.0
        tel.chiller_kw[:] = 200.0
        tel.inlet_max_c[:] = inlets[k]
        acc.add(tel, np.array([400.0, 400.0]))
    a, b = acc.result(0), acc.result(1)
    assert a["pue"] == pytest.approx(1.4)
    assert a["it_kwh"] == pytest.approx(250.0)
    assert a["carbon_kg"] == pytest.approx(350.0 * 0.4)
    assert a["minutes_above_recommended"] == 5.0 and a["minutes_above_allowable"] == 5.0
    assert b["minutes_above_recommended"] == 5.0 and b["minutes_above_allowable"] == 0.0
    assert a["max_inlet_c"] == 33.0 and b["max_inlet_c"] == 27.5
    assert a["cooling_breakdown_kwh"]["chillers"] == pytest.approx(50.0)
