"""The controller service without a broker: config, clock, message handling rules."""

from __future__ import annotations

import calendar
import json
import os
import time

import numpy as np
import pytest

from cooling.io import messages as msg
from cooling.io.mqtt import BrokerConfig
from cooling.service import (
    ConfigError,
    Controller,
    ControllerConfig,
    PlantClock,
    ServiceConfig,
    hour_of_year,
    load_config,
)


def make(mode="shadow", **controller):
    cfg = ServiceConfig(site="enterprise", policy="rules", mode=mode, broker=BrokerConfig(port=1),
                        controller=ControllerConfig(**controller))  # fmt: skip
    return Controller(cfg)


def deliver(c, kind, payload: dict):
    c._handle(c.topics[kind], msg.encode(payload), (time.time(), c.link.generation))


def test_a_shadow_controller_cannot_be_switched_to_active_over_mqtt():
    c = make("shadow")
    deliver(c, "override", {"ts": int(time.time() * 1000), "seq": 1, "kind": "mode",
                            "mode": "active", "operator": "mallory"})  # fmt: skip
    assert c.rejected["override:mode"] == 1
    assert c.runtime._overrides == type(c.runtime._overrides)()  # nothing queued
    deliver(c, "override", {"ts": int(time.time() * 1000), "seq": 2, "kind": "hold",
                            "operator": "alice"})  # fmt: skip
    assert c.counters["overrides"] == 1


def test_one_step_per_control_interval_and_crashing_input_is_counted_not_fatal():
    c = make("shadow")
    now = int(time.time() * 1000)
    t0 = now - 400_000  # readings within the 600 s staleness limit
    base = {"site": "enterprise", "src": "gw", "values": {"it_kw": 500.0}}
    deliver(c, "telemetry", {"ts": t0, "seq": 1, **base})
    deliver(c, "telemetry", {"ts": t0 + 60_000, "seq": 2, **base})  # 60 s later, 300 s site
    assert c.counters["steps"] == 1 and c.rejected["telemetry:early"] == 1
    # telemetry every 0.6 interval would ramp the setpoints faster than the site allows
    deliver(c, "telemetry", {"ts": t0 + 180_000, "seq": 3, **base})
    assert c.counters["steps"] == 1 and c.rejected["telemetry:early"] == 2
    # a bridge a little early (clock jitter) still steps
    deliver(c, "telemetry", {"ts": t0 + 285_000, "seq": 4, **base})
    assert c.counters["steps"] == 2
    c._handle(c.topics["telemetry"], b'{"v": 1, "x": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",
              (time.time(), c.link.generation))  # fmt: skip
    assert c.rejected["telemetry:malformed"] == 1
    stale_generation = (time.time(), c.link.generation - 1)
    c._handle(c.topics["telemetry"], msg.encode({"ts": now, "seq": 5, **base}),
              stale_generation)  # fmt: skip
    assert c.rejected["telemetry:before_reconnect"] == 1 and c.counters["steps"] == 2


def test_an_early_reading_is_not_a_step_but_shows_the_telemetry_is_alive():
    c = make("shadow")
    now = int(time.time() * 1000)
    t0 = now - 500_000
    base = {"site": "enterprise", "src": "gw", "values": {"it_kw": 500.0}}
    deliver(c, "telemetry", {"ts": t0, "seq": 1, **base})
    deliver(c, "telemetry", {"ts": t0 + 265_000, "seq": 2, **base})  # 12 % early: jitter
    assert c.counters["steps"] == 1 and c.rejected["telemetry:early"] == 1
    # 601 s after the last step (the silence limit is 600 s) the next reading is due: the
    # early one, 336 s ago, shows the telemetry flows, so no fallback
    c.clock.now_ms = lambda: t0 + 601_000  # type: ignore[method-assign]
    c._watch()
    assert not c.fallback and c.state_reason == "running"


@pytest.mark.parametrize("tz", ["UTC", "Europe/Dublin", "America/New_York", "Asia/Kolkata"])
def test_hour_of_year_does_not_depend_on_the_machines_time_zone(tz, monkeypatch):
    monkeypatch.setenv("TZ", tz)
    time.tzset()
    try:
        assert hour_of_year(1_767_225_600_000) == 0.0  # 2026-01-01 00:00 UTC
        assert hour_of_year(1_767_225_600_000 + 36 * 3_600_000) == 36.0
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_hour_of_year_is_the_sites_local_standard_time():
    # the traces' rows are local standard time: 05:00 UTC on 1 January is Atlanta's hour 0
    jan1_utc = 1_767_225_600_000  # 2026-01-01 00:00 UTC
    assert hour_of_year(jan1_utc + 5 * 3_600_000, -5.0) == 0.0
    assert hour_of_year(jan1_utc, -5.0) == 8760 - 5  # still 31 December there
    assert hour_of_year(jan1_utc, 5.5) == 5.5
    # the traces have no 29 February: in a leap year it reads 28 February again
    leap = calendar.timegm((2028, 2, 28, 12, 0, 0)) * 1000
    assert hour_of_year(leap) == 58 * 24 + 12
    assert hour_of_year(leap + 24 * 3_600_000) == 58 * 24 + 12  # 29 February
    assert hour_of_year(leap + 36 * 3_600_000) == 59 * 24  # 1 March, as in 2026
    assert hour_of_year(calendar.timegm((2026, 3, 1, 0, 0, 0)) * 1000) == 59 * 24
    assert hour_of_year(calendar.timegm((2028, 12, 31, 23, 30, 0)) * 1000) == 8759.5


def test_virtual_plant_and_controller_read_the_same_hour_of_the_traces():
    from cooling.hil.virtual_plant import VirtualPlant
    from cooling.service import site_utc_offset_h
    from cooling.spec import load_site

    for site in ("enterprise", "highdensity"):
        spec = load_site(site)
        plant = VirtualPlant(spec, BrokerConfig(port=1), speed=100.0, days=0.1, start_day=112)
        offset = site_utc_offset_h(spec)
        assert offset in (-5.0, -7.0)
        assert hour_of_year(plant.t0_ms, offset) == pytest.approx(112 * 24.0)
        c = make()
        assert c.utc_offset_h == -5.0  # enterprise's weather file (Atlanta)
    assert make(utc_offset_h=1.0).utc_offset_h == 1.0
    spec = load_site("enterprise")
    plant = VirtualPlant(spec, BrokerConfig(port=1), speed=100.0, days=0.1, start_day=112,
                         utc_offset_h=3.0)  # fmt: skip
    assert hour_of_year(plant.t0_ms, 3.0) == pytest.approx(112 * 24.0)
    for bad in (15, "five", -13, True):
        with pytest.raises(ValueError, match=r"utc_offset_h must be .* in -12\.\.14"):
            ControllerConfig(utc_offset_h=bad)


def test_the_shields_pessimism_is_the_controller_configs_and_checked():
    assert make().runtime.shield.config.robust_fraction == 0.1  # the shield's default
    c = make(shield_robust_fraction=0.05)
    assert c.runtime.shield.config.robust_fraction == 0.05
    # the shield's model of the plant is the spec's made that much worse
    from cooling.control.safety import pessimistic_params

    assert np.array_equal(c.runtime.shield.params.data, pessimistic_params(c.spec, 0.05).data)
    assert not np.array_equal(c.runtime.shield.params.data, make().runtime.shield.params.data)
    for bad in (-0.1, 0.6, "low", True, None):
        with pytest.raises(
            ConfigError, match=r"shield_robust_fraction must be a number in 0\.\.0\.5"
        ):
            ControllerConfig(shield_robust_fraction=bad)
    assert make().runtime.shield.config.pull_back == "cheapest"
    assert make(shield_pull_back="together").runtime.shield.config.pull_back == "together"
    with pytest.raises(ConfigError, match=r"shield_pull_back must be one of cheapest, together"):
        ControllerConfig(shield_pull_back="nearest")


def test_virtual_plant_stays_in_step_with_the_controller_across_29_february(monkeypatch):
    """A real-time virtual plant that runs through a leap day reads, every interval, the
    hour of the traces the controller's clock reads (29 February repeats 28 February),
    instead of running on a day ahead of it."""
    import calendar

    from cooling.hil import virtual_plant as vp
    from cooling.spec import load_site

    spec = load_site("enterprise")  # Atlanta, UTC−5
    noon_28_feb_ms = (calendar.timegm((2028, 2, 28, 12, 0, 0)) + 5 * 3600) * 1000
    monkeypatch.setattr(vp.time, "time", lambda: noon_28_feb_ms / 1000.0)
    plant = vp.VirtualPlant(spec, BrokerConfig(port=1), speed=100.0, days=3.0)
    monkeypatch.undo()
    per_day = int(86400 // spec.interval_s)
    hours = plant.traces.hours[:, 0]
    step_ms = spec.interval_s * 1000
    expected = [hour_of_year(plant.t0_ms + k * step_ms, -5.0) for k in range(len(hours))]
    assert hours == pytest.approx(expected)
    assert hours[0] == pytest.approx(58 * 24 + 12)  # 28 February, noon local
    assert hours[per_day] == pytest.approx(58 * 24 + 12)  # 29 February reads 28 February
    assert hours[2 * per_day] == pytest.approx(59 * 24 + 12)  # 1 March is day 59 again
    dry = plant.traces.dry_bulb_c[:, 0]
    assert dry[per_day] == dry[0] and dry[2 * per_day] != dry[per_day]


def test_scaled_clock_anchors_at_receipt_and_again_after_misses():
    clock = PlantClock(100.0)
    assert clock.now_ms() is None
    wall = time.time() - 1.0
    clock.anchor_at(1_000_000, wall)
    assert 1_000_000 + 99_000 < clock.now_ms() < 1_000_000 + 120_000  # 1 s wall = 100 s
    for _ in range(PlantClock.REANCHOR_AFTER):
        clock.missed()
    assert clock.now_ms() is None  # the next telemetry anchors it again


def test_secrets_one_way_only(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps({"site": "enterprise", "policy": "rules",
                                "broker": {"password": "x", "password_env": "HOME"}}))  # fmt: skip
    with pytest.raises(ValueError, match="give one of password, password_env"):
        load_config(path)
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    path.write_text(json.dumps({"site": "enterprise", "policy": "rules",
                                "broker": {"password_file": str(secret)}}))  # fmt: skip
    assert load_config(path).broker.password == "s3cret"
    assert "s3cret" not in repr(os.environ.get("DCC_NONE"))


def test_24h_pue_is_over_the_readings_of_the_last_24_hours_and_says_how_many_hours():
    c = make("shadow")
    now = int(time.time() * 1000)
    deliver(c, "telemetry", {"ts": now, "seq": 1, "site": "enterprise", "src": "gw",
                             "values": {"it_kw": 500.0, "facility_kw": 700.0}})  # fmt: skip
    _, record, _ = c.records[-1]
    step, per_day = c.interval_s * 1000, int(86_400 / c.interval_s)

    def day_pue(k: int, it_kw: float, facility_kw: float) -> dict[str, float]:
        """The fields of the 24 h PUE point written with reading ``k`` (one per interval)."""
        t = msg.TelemetryMsg(ts=now + k * step, seq=k, site="enterprise",
                             values={"it_kw": it_kw, "facility_kw": facility_kw})  # fmt: skip
        (line,) = [x for x in c._points(t, record, "") if x.startswith("pue,") and "=24h" in x]
        fields = line.split(" ")[1].split(",")
        return {k: float(v) for k, v in (f.split("=") for f in fields)}

    # just started: a 24 h PUE over one reading, and it says it covers 5 minutes
    assert day_pue(0, 500.0, 700.0) == {"pue": 1.4, "it_kw": 500.0, "facility_kw": 700.0,
                                        "hours": c.interval_s / 3600}  # fmt: skip
    for k in range(1, per_day):  # a day of readings at PUE 1.2
        last = day_pue(k, 1000.0, 1200.0)
    assert last["hours"] == 24.0
    assert last["pue"] == pytest.approx((700 + 1200 * (per_day - 1)) / (500 + 1000 * (per_day - 1)))
    # a day after it, the first reading has left the window
    assert day_pue(per_day, 1000.0, 1200.0) == {"pue": 1.2, "it_kw": 1000.0,
                                                "facility_kw": 1200.0, "hours": 24.0}  # fmt: skip
    # telemetry stops for 12 h: the window holds only the readings of the 12 h before it
    after_gap = day_pue(per_day + 12 * 3600 // c.interval_s, 1000.0, 1500.0)
    assert after_gap["hours"] == pytest.approx(12.0 + c.interval_s / 3600)
    assert 1.2 < after_gap["pue"] < 1.25  # 1 reading at 1.5 among 145


def test_a_full_reading_gives_a_finite_prediction_of_the_saving():
    """The recommendation's predicted PUE and kW saved need every setpoint in force: the
    ones the site exposes from the plant's readings, the others from the spec (a plant
    need not report a setpoint nobody may move)."""
    import numpy as np

    from cooling.plant import plant as plantmod
    from cooling.service import readings_of
    from cooling.setpoints import fixed_vector
    from cooling.spec import load_site

    spec = load_site("enterprise")
    params = plantmod.params_from_spec(spec)
    sp = plantmod.Setpoints(fixed_vector(spec)[None, :])
    dist = plantmod.Disturbances(np.array([[30.0, 22.0, 0.6 * spec.it.capacity_kw]]))
    state = plantmod.initial_state(params, sp, dist, warmup_steps=12)
    _, tel = plantmod.step(state, sp, dist, params)
    values = {n: v for n, v in tel.row(0).items() if n in readings_of(spec)}
    assert "crah_airflow_set" in values  # a plant may report it ...
    del values["crah_airflow_set"]  # ... but need not: enterprise does not expose it
    c = make("shadow")
    now = int(time.time() * 1000)
    for k in range(3):
        deliver(c, "telemetry", {"ts": now - 590_000 + 290_000 * k, "seq": k + 1,
                                 "site": "enterprise", "src": "gw", "values": values})  # fmt: skip
    assert c.counters["steps"] == 3
    assert c.counters["predictions"] == 3
    pue, saved_kw = c._last_prediction
    assert 1.0 < pue < 2.0 and np.isfinite(saved_kw)


def test_the_reco_goes_out_after_its_points_are_spooled_and_despite_a_point_that_fails(
    tmp_path,
):
    """A reco seen means its reading's points are in the spool; a bug that makes a point
    fail is counted as an InfluxDB error and withholds neither the reco nor the step."""
    from cooling.io.influx import InfluxConfig, InfluxSink

    c = make("shadow")
    # a real spool; its sender is not started (no server is needed to see what is spooled)
    c.sink = InfluxSink(InfluxConfig(url="http://127.0.0.1:9", spool_path=str(tmp_path / "s")),
                        start=False)  # fmt: skip
    spooled_at_publish: dict[str, int] = {}

    def publish(topic, *args, **kwargs):
        spooled_at_publish[topic] = c.sink.stats()["spooled"]
        return True

    c.link.publish = publish
    now = int(time.time() * 1000)
    base = {"site": "enterprise", "src": "gw", "values": {"it_kw": 500.0}}
    deliver(c, "telemetry", {"ts": now - 400_000, "seq": 1, **base})
    spooled = c.sink.stats()["spooled"]
    assert spooled > 0 and spooled_at_publish[c.topics["reco"]] == spooled

    def broken(*args):
        raise RuntimeError("a bug in the points")

    c._points = broken
    spooled_at_publish.clear()
    deliver(c, "telemetry", {"ts": now - 100_000, "seq": 2, **base})
    assert c.counters["steps"] == 2 and c.counters["influx_errors"] == 1
    assert c.topics["reco"] in spooled_at_publish and c.sink.stats()["spooled"] == spooled
    c.sink.close(timeout_s=0.1)
