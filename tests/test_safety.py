"""The safety shield: hostile policies, model mismatch, telemetry faults, limits."""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cooling.control.baselines import make
from cooling.control.safety import SafetyShield, ShieldConfig
from cooling.plant import plant as plantmod
from cooling.simulation import simulate
from cooling.spec import load_site
from tests.conftest import constant_inputs, load_benchmark, with_airflow


@pytest.mark.parametrize("name", ["random", "adversarial", "nan"])
def test_hostile_policies_behind_the_shield_stay_in_the_envelope(site, name):
    report = simulate(site, make(name, site), days=3, start_day=185, shield=ShieldConfig())[0]
    assert report["minutes_above_allowable"] == 0.0
    assert report["minutes_above_recommended"] == 0.0
    assert report["shield_interventions"] > 0


@pytest.mark.parametrize("name", ["adversarial", "nan"])
def test_hostile_policies_stay_in_the_envelope_where_the_fans_are_a_setpoint(name):
    """On a site that exposes the CRAH air flow the rule-based fallback trims the fans;
    the shield's prediction still keeps every hostile proposal, and the fallback itself
    (``nan``: every step falls back), inside the envelope through a summer week-end."""
    site = with_airflow(load_site("enterprise"), lo=0.8, hi=1.0, ramp=0.1)
    record: list[dict] = []
    report = simulate(site, make(name, site), days=2, start_day=185, shield=ShieldConfig(),
                      record=record)[0]  # fmt: skip
    assert min(r["crah_airflow"] for r in record) == pytest.approx(0.8)  # the fans were trimmed
    assert report["minutes_above_allowable"] == 0.0
    assert report["minutes_above_recommended"] == 0.0
    assert report["shield_interventions"] > 0


@pytest.mark.parametrize("name", ["random", "adversarial"])
def test_the_shield_does_not_need_a_perfect_model(site, name):
    """The plant is 20 % off the shield's model and its sensors are noisy."""
    for seed in (1, 2):
        report = simulate(
            site,
            make(name, site),
            days=3,
            start_day=190,
            seeds=(seed,),
            shield=ShieldConfig(),
            perturb=0.2,
            sensor_noise_c=0.2,
        )[0]
        assert report["minutes_above_allowable"] == 0.0
        assert report["minutes_above_recommended"] == 0.0


def test_without_the_shield_the_adversary_overheats_the_racks():
    site = load_site("enterprise")
    report = simulate(site, make("adversarial", site), days=1, start_day=185)[0]
    assert report["minutes_above_recommended"] > 0
    with pytest.raises(ValueError, match="non-finite setpoint"):
        simulate(site, make("nan", site), days=0.1, start_day=185)


def _reading(site):
    params, sp, dist = constant_inputs(site, setpoints=[7.0, 18.0, 29.4, 1.0, 0.0, 1.0], load=0.6)
    state = plantmod.initial_state(params, sp, dist)
    _, tel = plantmod.step(state, sp, dist, params)
    return tel.row(0)


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda r, ts: r.pop("supply_air_c"), "TELEMETRY_MISSING"),
        (lambda r, ts: r.update(chw_supply_c=math.nan), "TELEMETRY_MISSING"),
        (lambda r, ts: r.update(zone0_inlet_max_c=math.inf), "TELEMETRY_NONFINITE"),
        (lambda r, ts: r.update(it_kw=-50.0), "TELEMETRY_RANGE"),
        (lambda r, ts: r.update(chw_return_c_ts=ts - 3600.0), "TELEMETRY_STALE"),
        (lambda r, ts: r.update(supply_air_c=r["supply_air_c"] + 15.0), "TELEMETRY_RATE"),
    ],
)
def test_bad_telemetry_hands_back_at_once_and_recovers_after_good_readings(mutate, code):
    site = load_site("enterprise")
    shield = SafetyShield(site, ShieldConfig(recover_after_s=900.0))
    good = _reading(site)
    proposal = np.array([8.0, 19.0, 28.0, 0.9, 0.0, 1.0])
    first = shield.decide(proposal, dict(good), ts=0.0)
    assert first.applied is not None and not first.fallback
    bad = dict(good)
    mutate(bad, 300.0)
    decision = shield.decide(proposal, bad, ts=300.0)
    assert decision.applied is None and decision.fallback  # within the same interval
    assert code in [r.code for r in decision.reasons]
    assert "HAND_BACK" in [r.code for r in decision.reasons]
    # good again: control is taken back only after 900 s of good readings
    applied = []
    for k in range(2, 8):
        applied.append(shield.decide(proposal, dict(good), ts=300.0 * k).applied is not None)
    assert applied == [False, False, False, True, True, True]


def test_a_changing_reading_within_physics_is_accepted():
    site = load_site("enterprise")
    shield = SafetyShield(site)
    good = _reading(site)
    shield.decide(np.array([8.0, 19.0, 28.0, 0.9, 0.0, 1.0]), dict(good), ts=0.0)
    warmer = dict(good, supply_air_c=good["supply_air_c"] + 2.0)
    decision = shield.decide(np.array([8.0, 19.0, 28.0, 0.9, 0.0, 1.0]), warmer, ts=300.0)
    assert decision.applied is not None


def test_every_decision_says_why():
    site = load_site("hyperscale")
    shield = SafetyShield(site)
    reading = _reading(site)
    d = shield.decide(np.array([np.nan, 40.0, 5.0, 2.0, 1.0, 1.0]), reading, ts=0.0)
    codes = [r.code for r in d.reasons]
    assert "NONFINITE" in codes and "HARD_LIMIT" in codes and "RATE_LIMIT" in codes
    assert all(r.message for r in d.reasons)
    np.testing.assert_array_equal(d.proposed[1:], [40.0, 5.0, 2.0, 1.0, 1.0])


finite_or_not = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6), st.just(math.nan), st.just(math.inf)
)


@settings(max_examples=150, deadline=None)
@given(
    proposal=st.lists(finite_or_not, min_size=6, max_size=6),
    last=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=6, max_size=6),
    inlet=st.floats(min_value=15.0, max_value=31.0),
    load=st.floats(min_value=0.1, max_value=1.0),
    airflow_exposed=st.booleans(),
)
def test_applied_setpoints_always_within_hard_and_rate_limits(
    proposal, last, inlet, load, airflow_exposed
):
    site = load_site("highdensity")
    if airflow_exposed:
        site = with_airflow(site, lo=0.7, hi=1.0, ramp=0.1)
    shield = SafetyShield(site)
    lo, hi, ramp = shield.lo, shield.hi, shield.ramp
    shield.last_applied = lo + np.array(last) * (hi - lo)
    shield.last_applied[4] = round(last[4])
    reading = _cached_reading()
    reading = dict(reading, it_kw=load * site.it.capacity_kw)
    for z in range(len(site.zones)):
        reading[f"zone{z}_inlet_max_c"] = inlet
    before = shield.last_applied.copy()
    d = shield.decide(np.array(proposal), reading, ts=0.0)
    assert d.applied is not None
    assert np.all(d.applied >= lo - 1e-9) and np.all(d.applied <= hi + 1e-9)
    moved = np.abs(d.applied - before)
    assert np.all(moved[[0, 1, 2, 3, 5]] <= ramp[[0, 1, 2, 3, 5]] + 1e-9)
    assert d.applied[4] in (0.0, 1.0)
    if not airflow_exposed:
        assert d.applied[5] == 1.0


_READING: dict = {}


def _cached_reading():
    if not _READING:
        _READING.update(_reading(load_site("highdensity")))
    return _READING


def test_economizer_is_not_short_cycled():
    site = load_site("hyperscale")
    shield = SafetyShield(site, ShieldConfig(economizer_hold_s=1200.0))
    reading = _reading(site)
    states = []
    for k in range(8):
        d = shield.decide(
            np.array([7.0, 18.0, 29.4, 1.0, float(k % 2), 1.0]), reading, ts=300.0 * k
        )
        states.append(d.applied[4])
    changes = np.flatnonzero(np.diff(states))
    assert len(changes) <= 2  # at most one change per 1200 s in 2400 s
    if len(changes) == 2:
        assert (changes[1] - changes[0]) * 300.0 >= 1200.0


def test_the_pull_back_applies_the_cheapest_candidate_predicted_safe():
    """Pulling back a proposal predicted too hot, the shield may move each setpoint alone
    as well as all together, and applies the candidate predicted safe that the nominal
    plant predicts to draw the least power: here less than the first safe fraction of the
    way back with all setpoints together (``pull_back="together"``, the old shield)."""
    site = load_site("highdensity")
    params, sp, dist = constant_inputs(site, setpoints=[7.0, 18.0, 29.4, 1.0, 0.0, 1.0], load=0.6)
    state = plantmod.initial_state(params, sp, dist)
    reading = plantmod.step(state, sp, dist, params)[1].row(0)
    cheapest = SafetyShield(site)
    together = SafetyShield(site, ShieldConfig(pull_back="together"))
    proposal = np.array([9.0, 23.5, 29.0, 0.7, 0.0, 1.0])  # warm air, slow pumps
    for k in range(12):
        before = copy.deepcopy(cheapest)  # the same history: the same state estimate
        c = cheapest.decide(proposal, dict(reading), ts=300.0 * k)
        t = together.decide(proposal, dict(reading), ts=300.0 * k)
        if "PREDICTED_INLET" in [r.code for r in c.reasons]:
            break
        np.testing.assert_array_equal(c.applied, t.applied)  # ramps alone: no choice yet
    else:
        pytest.fail("the proposal was never predicted too hot")
    assert "PREDICTED_INLET" in [r.code for r in t.reasons]
    assert c.predicted_inlet_max_c <= cheapest.limit_c
    assert t.predicted_inlet_max_c <= together.limit_c
    c_kw, t_kw = before.predict_facility_kw(np.array([c.applied, t.applied]))
    assert c_kw < t_kw  # here a cheaper candidate than the first safe fraction exists
    message = c.reasons[-1].message
    assert "candidates predicted safe" in message
    # here the rules' setpoints are the cheapest of several candidates predicted safe:
    # not a hand-over to the fallback (Decision.fallback, the fallback_steps count)
    assert "the rule-based fallback's setpoints apply" in message and not c.fallback
    assert t.reasons[-1].message.endswith("pulled back to 25% of the way from the fallback")
    # the old shield's fractions belong to its pull-back, whatever config it derives from
    old = dataclasses.replace(ShieldConfig(), pull_back="together")
    assert old.fractions == (0.75, 0.5, 0.25) and ShieldConfig().fractions[0] == 0.9
    assert ShieldConfig(line_search=[0.6, 0.3]) == ShieldConfig(line_search=(0.6, 0.3))
    for bad, said in (
        ({"pull_back": "nearest"}, "pull_back must be one of cheapest, together"),
        ({"line_search": (0.5, 0.75)}, "largest first"),
        ({"line_search": (1.0, 0.5)}, "strictly between 0 and 1"),
        ({"line_search": ()}, "line_search must be fractions"),
    ):
        with pytest.raises(ValueError, match=said):
            ShieldConfig(**bad)


def test_the_crah_air_flow_is_limited_and_checked_like_every_setpoint():
    """Where a site exposes the CRAH air flow the shield clips it to the site's range,
    ramps it, counts its recirculation in the envelope check, and opens it for the most
    cooling; where a site does not, any proposal for it is pinned at the design ratio."""
    site = with_airflow(load_site("enterprise"), lo=0.8, hi=1.0, ramp=0.1)
    shield = SafetyShield(site)
    reading = _reading(site)
    d = shield.decide(np.array([8.0, 19.0, 28.0, 0.9, 0.0, 0.3]), dict(reading), ts=0.0)
    assert d.applied is not None and d.applied[5] == pytest.approx(0.9)  # 1.0 − one ramp
    messages = " ".join(r.message for r in d.reasons)
    assert "crah_airflow 0.3 clipped to 0.8" in messages
    assert "crah_airflow 0.8 limited to 0.9" in messages
    assert shield._max_cooling()[5] == pytest.approx(1.0)  # 0.9 + one ramp, the most air
    # less air at the same supply air is predicted hotter: the recirculation is modelled
    candidates = np.tile(shield.last_applied, (2, 1))
    candidates[:, 5] = (0.8, 1.0)
    less_air, more_air = shield.predict_inlet_max(candidates)
    assert less_air > more_air + 0.5
    plain = SafetyShield(load_site("enterprise"))
    d = plain.decide(np.array([8.0, 19.0, 28.0, 0.9, 0.0, 0.3]), dict(reading), ts=0.0)
    assert d.applied is not None and d.applied[5] == 1.0


def test_evaluate_runs_the_policy_behind_the_shield_tuning_it_is_given(monkeypatch):
    """``evaluate(shield=...)``: False runs the policy bare, True behind the default
    shield, a ShieldConfig behind that one; the baselines never behind a shield."""
    import cooling.evaluate as evaluation

    seen: list[tuple[str, object]] = []
    real = evaluation.simulate

    def one_day(spec, controller, days, start_day, seeds, **kw):
        seen.append((getattr(controller, "name", "?"), kw.get("shield")))
        return real(spec, controller, 0.05, start_day, seeds, **kw)  # an hour and a bit

    monkeypatch.setattr(evaluation, "simulate", one_day)
    spec = load_site("enterprise")
    tuned = ShieldConfig(robust_fraction=0.05)
    for shield, expected in ((False, None), (True, ShieldConfig()), (tuned, tuned)):
        seen.clear()
        out = evaluation.evaluate(spec, make("random", spec), shield=shield, controllers=("rules",))
        assert {cfg for name, cfg in seen if name == "random"} == {expected}
        assert {cfg for name, cfg in seen if name == "rules"} == {None}
        assert ("shield_interventions" in out["controllers"]["policy"]) == (expected is not None)
        recorded = out.get("shield")
        assert recorded == (None if expected is None else dataclasses.asdict(expected))
    seen.clear()  # a truthy flag that is not True (numpy's) still means the default shield
    evaluation.evaluate(spec, make("random", spec), shield=np.True_, controllers=())
    assert set(seen) == {("random", ShieldConfig())}
    for bad in (-0.1, 0.6, "0.1", True):
        with pytest.raises(ValueError, match=r"robust_fraction must be a number in 0\.\.0\.5"):
            ShieldConfig(robust_fraction=bad)


def test_the_shield_tuning_benchmark_refuses_bad_arguments_with_the_reason(capsys):
    tuning = load_benchmark("shield_tuning")
    assert tuning._fractions("0,0.05,0.1") == [0.0, 0.05, 0.1]
    for argv, said in (
        (["--robust-fractions", "0.7"], "each robust fraction must be in 0..0.5"),
        (["--robust-fractions", "a,b"], "expected numbers separated by commas"),
        (["--sites", "mars"], "unknown mars; shipped: enterprise"),
        (["--seeds", "0"], "--seeds must be at least 1"),
        (["--jobs", "0"], "--jobs must be at least 1"),
    ):
        with pytest.raises(SystemExit):
            tuning.main(argv)
        assert said in capsys.readouterr().err


def test_the_shield_tuning_table_gives_ranges_sums_and_maxima_over_the_plants():
    tuning = load_benchmark("shield_tuning")

    def plant(saving, minutes, hottest):
        return {"saving_vs_rules": saving, "minutes_above_recommended": minutes,
                "max_inlet_c": hottest}  # fmt: skip

    result = {
        "site": "highdensity", "robust_fraction": 0.05,
        "nominal": [plant(0.044, 0.0, 26.3)],
        "10 % off + noise": [plant(-0.0004, 5.0, 26.1), plant(0.067, 10.0, 27.4),
                             plant(0.03, 0.0, 26.0)],
        "random": {"minutes_above_recommended": 0.0, "max_inlet_c": 26.25},
        "adversarial": {"minutes_above_recommended": 15.0, "max_inlet_c": 27.1},
    }  # fmt: skip
    lines = tuning.table([result], seeds=3).splitlines()
    assert "10 % off + noise (seeds 0-2): vs rules" in lines[0]
    assert lines[0].count("|") == lines[1].count("|") == lines[2].count("|") == 13
    assert lines[2] == ("| 0.05 | highdensity | 4.4% | 0 | 26.3 °C | 0.0% to 6.7% | 15 "
                        "| 27.4 °C | 0 | 26.2 °C | 15 | 27.1 °C |")  # fmt: skip
    assert tuning._percent(-0.0006) == "-0.1%" and tuning._percent(0.0) == "0.0%"
