"""Observation features: read from the telemetry, forecasts as persistence plus the typical day."""

from __future__ import annotations

import numpy as np
import pytest

from cooling.env import CoolingEnv
from cooling.features import FORECAST_HOURS, interp_hourly


def _core_after_steps(steps=3):
    env = CoolingEnv("enterprise")
    env.reset(seed=2)
    for _ in range(steps):
        env.step(env.action_space.sample())
    return env.core


def _features(core):
    obs = core.observe(None)[0]
    return dict(zip(core.observation_names, obs.astype(float), strict=True))


def test_outdoor_features_follow_the_measured_air_not_the_typical_year():
    core = _core_after_steps()
    h = float(core.hours()[0])
    wet = core.weather.wet_bulb_c
    typical_wet = interp_hourly(wet, h)
    # a day 4 K warmer (wet-bulb) and 6 K warmer (dry-bulb) than the typical year
    core.telemetry.outdoor_wet_bulb_c[:] = typical_wet + 4.0
    core.telemetry.outdoor_dry_bulb_c[:] = interp_hourly(core.weather.dry_bulb_c, h) + 6.0
    f = _features(core)
    assert f["outdoor_wet_bulb"] * 10.0 + 15.0 == pytest.approx(typical_wet + 4.0, abs=1e-4)
    assert f["outdoor_dry_bulb"] * 10.0 + 20.0 == pytest.approx(
        interp_hourly(core.weather.dry_bulb_c, h) + 6.0, abs=1e-4
    )
    for ahead in FORECAST_HOURS:
        # the reading now plus the typical year's change from now to then
        expected = interp_hourly(wet, h + ahead) + 4.0
        got = f[f"forecast_wet_bulb_{ahead:g}h"] * 10.0 + 15.0
        assert got == pytest.approx(expected, abs=1e-4)


def test_load_forecast_is_the_measured_load_plus_the_typical_change():
    core = _core_after_steps()
    h = float(core.hours()[0])
    idle = core.spec.it.servers.idle_fraction

    def typical(hour):
        return idle + (1.0 - idle) * interp_hourly(core.utilisation, hour)

    core.telemetry.it_kw[:] = 0.3 * core.capacity_kw
    f = _features(core)
    assert f["it_load"] == pytest.approx(0.3, abs=1e-6)
    for ahead in FORECAST_HOURS:
        expected = 0.3 + typical(h + ahead) - typical(h)
        assert f[f"forecast_it_load_{ahead:g}h"] == pytest.approx(expected, abs=1e-5)


def test_without_an_outdoor_reading_the_typical_year_stands_in():
    core = _core_after_steps()
    h = float(core.hours()[0])
    core.telemetry.outdoor_wet_bulb_c[:] = np.nan
    core.telemetry.outdoor_dry_bulb_c[:] = np.nan
    f = _features(core)
    assert np.isfinite(list(f.values())).all()
    assert f["outdoor_wet_bulb"] * 10.0 + 15.0 == pytest.approx(
        interp_hourly(core.weather.wet_bulb_c, h), abs=1e-4
    )
    assert f["forecast_wet_bulb_3h"] * 10.0 + 15.0 == pytest.approx(
        interp_hourly(core.weather.wet_bulb_c, h + 3.0), abs=1e-4
    )


def test_sensor_noise_reaches_the_outdoor_readings_as_the_others():
    # the noise array holds the inlets, five plant temperatures, then dry- and wet-bulb
    core = _core_after_steps()
    zones = core.zones
    names = core.observation_names
    base = core.observe(None)[0]
    for index, moved in ((2 * zones + 5, {"outdoor_dry_bulb"}),
                         (2 * zones + 6, {"outdoor_wet_bulb", "forecast_wet_bulb_1h",
                                          "forecast_wet_bulb_3h"})):  # fmt: skip
        core._no_noise[:] = 0.0
        core._no_noise[0, index] = 1.0  # 1 K on that sensor alone
        obs = core.observe(None)[0]
        changed = {n for n, a, b in zip(names, base, obs, strict=True) if abs(a - b) > 1e-6}
        assert changed == moved
        for n in moved:
            assert obs[names.index(n)] - base[names.index(n)] == pytest.approx(0.1, abs=1e-5)
    core._no_noise[:] = 0.0
