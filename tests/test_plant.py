"""The composed plant: energy balance, batching, capacity limits, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from cooling.control.baselines import FixedController
from cooling.plant import chiller
from cooling.plant import plant as plantmod
from cooling.simulation import make_traces, simulate
from tests.conftest import constant_inputs, with_changes


def _random_setpoints(rng, n):
    return plantmod.Setpoints(
        np.stack(
            [
                rng.uniform(4.0, 20.0, n),
                rng.uniform(14.0, 28.0, n),
                rng.uniform(10.0, 35.0, n),
                rng.uniform(0.2, 1.0, n),
                rng.integers(0, 2, n).astype(float),
                rng.uniform(0.5, 1.0, n),  # CRAH air flow, the spec's allowed range
            ],
            axis=1,
        )
    )


def test_energy_balance_closes_every_step_and_over_a_week(site):
    """Heat in (IT, fans, pumps, compressors) = heat out (towers) + Δ stored, within 0.5 %."""
    n, steps = 4, 7 * 288
    rng = np.random.default_rng(1)
    params = plantmod.params_from_spec(site).repeat(n)
    traces = make_traces(site, np.array([0.0, 2000.0, 4400.0, 7000.0]), steps, np.arange(n))
    state = plantmod.initial_state(params, _random_setpoints(rng, n), traces.at(0))
    stored_0 = plantmod.stored_heat_kj(state, params)
    heat_in = np.zeros(n)
    heat_out = np.zeros(n)
    worst_step = 0.0
    for k in range(steps):
        before = plantmod.stored_heat_kj(state, params)
        state, tel = plantmod.step(state, _random_setpoints(rng, n), traces.at(k), params)
        step_in = tel.heat_in_kw * site.interval_s
        step_out = tel.q_tower_kw * site.interval_s
        residual = step_in - step_out - (plantmod.stored_heat_kj(state, params) - before)
        worst_step = max(worst_step, float(np.max(np.abs(residual) / step_in)))
        heat_in += step_in
        heat_out += step_out
    week_residual = heat_in - heat_out - (plantmod.stored_heat_kj(state, params) - stored_0)
    assert worst_step < 0.005
    assert np.all(np.abs(week_residual) / heat_in < 0.005)
    # and the terms are not trivially zero
    assert np.all(heat_out > 0.5 * heat_in)


def test_heat_in_is_the_sum_of_its_parts(site):
    params, sp, dist = constant_inputs(site)
    state = plantmod.initial_state(params, sp, dist)
    _, tel = plantmod.step(state, sp, dist, params)
    parts = tel.it_kw + tel.crah_fan_kw + tel.chw_pump_kw + tel.cw_pump_kw + tel.chiller_kw
    np.testing.assert_allclose(tel.heat_in_kw, parts, rtol=1e-12)
    cooling = tel.chiller_kw + tel.tower_fan_kw + tel.chw_pump_kw + tel.cw_pump_kw
    np.testing.assert_allclose(tel.cooling_kw, cooling + tel.crah_fan_kw, rtol=1e-12)
    np.testing.assert_allclose(
        tel.facility_kw, tel.it_kw + tel.cooling_kw + tel.electrical_loss_kw, rtol=1e-12
    )


def test_batch_equals_single_runs(site):
    seeds = [3, 17, 101]
    controller = FixedController(site)
    batch = simulate(site, controller, days=1.0, start_day=100, seeds=seeds)
    for seed, report in zip(seeds, batch, strict=True):
        single = simulate(site, controller, days=1.0, start_day=100, seeds=[seed])[0]
        assert single == report
    # different seeds do differ (the IT-load noise is seeded)
    assert batch[0]["it_kwh"] != batch[1]["it_kwh"]


def test_same_seed_same_result(site):
    controller = FixedController(site)
    a = simulate(site, controller, days=0.5, start_day=10, seeds=[5])
    b = simulate(site, controller, days=0.5, start_day=10, seeds=[5])
    assert a == b


def test_undersized_plant_lets_chilled_water_warm_up():
    from cooling.spec import load_site

    site = load_site("enterprise")
    params, sp, dist = constant_inputs(site, load=0.9)
    state = plantmod.initial_state(params, sp, dist)
    for _ in range(24):
        state, ok = plantmod.step(state, sp, dist, params)
    assert ok.chw_supply_c[0] == pytest.approx(7.0, abs=0.2)
    # a third of the chiller capacity: the setpoint cannot be held
    small = plantmod.PlantParams(params.data.copy(), params.site, params.zones)
    small.data[:, plantmod.OCH + chiller.Q_REF_KW] *= 0.3
    state = plantmod.initial_state(small, sp, dist)
    for _ in range(24):
        state, short = plantmod.step(state, sp, dist, small)
    assert short.chillers_on[0] == site.chillers.count  # all staged on
    assert short.chw_supply_c[0] > 9.0
    assert short.inlet_max_c[0] > ok.inlet_max_c[0] + 1.0


def test_warmer_chilled_water_saves_chiller_power(site):
    params, sp, dist = constant_inputs(site, setpoints=[7.0, 20.0, 29.4, 1.0, 0.0, 1.0])
    _, warm_sp, _ = constant_inputs(site, setpoints=[12.0, 20.0, 29.4, 1.0, 0.0, 1.0])
    cold = plantmod.initial_state(params, sp, dist, warmup_steps=36)
    warm = plantmod.initial_state(params, warm_sp, dist, warmup_steps=36)
    _, t_cold = plantmod.step(cold, sp, dist, params)
    _, t_warm = plantmod.step(warm, warm_sp, dist, params)
    assert t_warm.chiller_kw[0] < 0.9 * t_cold.chiller_kw[0]


def test_bad_inputs_are_rejected_with_clear_errors(site):
    params, sp, dist = constant_inputs(site)
    state = plantmod.initial_state(params, sp, dist)
    bad = dist.copy()
    bad.data[0, plantmod.DISTURBANCE_NAMES.index("it_load_kw")] = -5.0
    with pytest.raises(ValueError, match=r"negative IT load -5 kW"):
        plantmod.step(state, sp, bad, params)
    nan_sp = sp.copy()
    nan_sp.data[0, 1] = np.nan
    with pytest.raises(ValueError, match=r"non-finite setpoint.*supply_air_c"):
        plantmod.step(state, nan_sp, dist, params)
    with pytest.raises(ValueError, match="batch sizes differ"):
        plantmod.step(state, plantmod.Setpoints(np.tile(sp.data, (2, 1))), dist, params)


def test_frame_names_fields():
    tel = plantmod.Telemetry(np.zeros((2, len(plantmod.TELEMETRY_NAMES))))
    assert tel.facility_kw.shape == (2,)
    with pytest.raises(AttributeError, match="no field 'pue'"):
        _ = tel.pue


def test_economizer_many_hours_in_chicago_winter_none_in_atlanta_summer():
    from cooling.spec import load_site

    site = load_site("hyperscale")
    winter = simulate(site, FixedController(site), days=28, start_day=5)[0]
    assert winter["economizer_hours"] > 0.6 * winter["hours"]
    atlanta = with_changes(site, weather="data/weather/atlanta.csv")
    summer = simulate(atlanta, FixedController(atlanta), days=28, start_day=180)[0]
    assert summer["economizer_hours"] == 0.0
    # the economizer saves chiller energy where it runs
    no_econ = with_changes(site, fixed_setpoints={**_fixed(site), "economizer": 0.0})
    winter_off = simulate(no_econ, FixedController(no_econ), days=28, start_day=5)[0]
    assert (
        winter["cooling_breakdown_kwh"]["chillers"]
        < 0.8 * (winter_off["cooling_breakdown_kwh"]["chillers"])
    )


def _fixed(site):
    import dataclasses

    return dataclasses.asdict(site.fixed_setpoints)


@pytest.mark.slow
def test_fixed_setpoints_over_a_year(site):
    report = simulate(site, FixedController(site), days=365, start_day=0)[0]
    assert 1.3 <= report["pue"] <= 1.8
    assert report["minutes_above_recommended"] == 0.0
    assert report["minutes_above_allowable"] == 0.0
    # water use of an evaporative plant: WUE of order 2 L/kWh (PHYSICS.md §2: 2.1-2.6)
    assert 1.0 < report["wue_l_per_kwh"] < 3.5


def test_less_crah_air_saves_fan_power_and_warms_the_inlets(site):
    """The CRAH air flow trades fan power (cube law) against recirculation: at the same
    supply air, less air means less CRAH fan power and hotter inlets. The plant turns the
    fans down from the design ratio, never up: a command above 1.0 runs as 1.0."""
    results = {}
    for airflow in (0.8, 0.9, 1.0, 1.2):
        params, sp, dist = constant_inputs(site, setpoints=[7.0, 18.0, 29.4, 1.0, 0.0, airflow])
        state = plantmod.initial_state(params, sp, dist, warmup_steps=36)
        _, tel = plantmod.step(state, sp, dist, params)
        results[airflow] = tel
    low, mid, design = results[0.8], results[0.9], results[1.0]
    assert low.crah_fan_kw[0] < mid.crah_fan_kw[0] < 0.8 * design.crah_fan_kw[0]
    assert low.crah_air_kg_s[0] == pytest.approx(0.8 * design.crah_air_kg_s[0], rel=0.02)
    assert low.inlet_max_c[0] > mid.inlet_max_c[0] > design.inlet_max_c[0] + 0.3
    assert low.inlet_mean_c[0] > mid.inlet_mean_c[0] > design.inlet_mean_c[0]
    # the supply air is held (the coil has the capacity): only the mixing changed
    assert low.supply_air_c[0] == pytest.approx(design.supply_air_c[0], abs=0.05)
    np.testing.assert_array_equal(results[1.2].data[:, :-1], design.data[:, :-1])
