"""The controller runtime: modes, overrides, faults, the decision log."""

from __future__ import annotations

import time

import numpy as np
import pytest

from cooling.control.baselines import RuleController
from cooling.control.runtime import Override, Runtime
from cooling.plant import plant as plantmod
from cooling.setpoints import fixed_vector
from cooling.spec import load_site
from tests.conftest import constant_inputs

SITE = load_site("enterprise")


class Loop:
    """A simulated plant under a runtime: the plant's own (fixed) setpoints when no command."""

    def __init__(self, runtime: Runtime):
        self.rt = runtime
        self.params, sp, self.dist = constant_inputs(SITE, load=0.6)
        self.state = plantmod.initial_state(self.params, sp, self.dist)
        self.state, self.tel = plantmod.step(self.state, sp, self.dist, self.params)
        self.k = 0

    def step(self):
        record = self.rt.step(self.tel.row(0), ts=300.0 * self.k)
        self.k += 1
        vector = (
            fixed_vector(SITE)
            if record.command is None
            else np.array(list(record.command.values()))
        )
        sp = plantmod.Setpoints(vector[None, :])
        self.state, self.tel = plantmod.step(self.state, sp, self.dist, self.params)
        return record


def rules_policy():
    rules = RuleController(SITE)
    rules.reset(1)
    return rules


def test_shadow_recommends_only_and_a_mode_switch_acts_at_the_next_step():
    loop = Loop(Runtime(SITE, rules_policy(), mode="shadow"))
    for _ in range(3):
        r = loop.step()
        assert r.command is None and r.recommended is not None and r.mode == "shadow"
    loop.rt.override(Override("mode", "active"))
    r = loop.step()
    assert r.mode == "active" and r.command == r.recommended
    assert len(loop.rt.log) == 4
    assert set(r.as_dict()) >= {"ts", "mode", "proposed", "recommended", "command", "reasons"}


def test_hold_keeps_the_setpoints_and_release_lets_the_policy_move_them():
    loop = Loop(Runtime(SITE, rules_policy(), mode="active"))
    for _ in range(4):
        last = loop.step()
    loop.rt.override(Override("hold"))
    held = [loop.step() for _ in range(3)]
    for r in held:
        assert r.hold and r.command == last.command
        assert "HOLD" in [x.code for x in r.reasons]
    loop.rt.override(Override("release"))
    moved = [loop.step() for _ in range(3)]
    assert not moved[-1].hold and moved[-1].command != last.command


@pytest.mark.parametrize(
    ("policy", "fault"),
    [
        (lambda t: 1 / 0, "raised ZeroDivisionError"),
        (lambda t: np.full(6, np.nan), "non-finite"),
        (lambda t: np.zeros(3), "returned 3 values"),
        (lambda t: time.sleep(0.5) or np.zeros(6), "took longer than 0.05 s"),
    ],
)
def test_a_failing_policy_is_a_fault_and_the_loop_goes_on(policy, fault):
    loop = Loop(Runtime(SITE, policy, mode="active", policy_timeout_s=0.05))
    for _ in range(3):
        r = loop.step()
        assert r.policy_fault is not None and fault in r.policy_fault
        assert r.fallback and r.command is not None
        assert np.all(np.isfinite(list(r.command.values())))
        assert "POLICY_FAULT" in [x.code for x in r.reasons]


def test_forced_fallback_and_back():
    loop = Loop(Runtime(SITE, lambda t: np.array([14.0, 24.0, 30.0, 0.5, 0.0]), mode="active"))
    loop.step()
    loop.rt.override(Override("force_fallback"))
    r = loop.step()
    assert r.fallback and "FORCED_FALLBACK" in [x.code for x in r.reasons]
    loop.rt.override(Override("clear_fallback"))
    r = loop.step()
    assert "FORCED_FALLBACK" not in [x.code for x in r.reasons]


def test_bad_overrides_and_modes_are_rejected():
    with pytest.raises(ValueError, match="unknown override 'reboot'"):
        Override("reboot")
    with pytest.raises(ValueError, match="mode must be one of shadow, active"):
        Override("mode", "turbo")
    with pytest.raises(ValueError, match="mode must be one of"):
        Runtime(SITE, rules_policy(), mode="auto")


def test_followed_plant_setpoints_outside_the_limits_never_lead_a_command_outside_them():
    """A plant reporting setpoints outside the site's ranges (a bad bridge, a BMS override)
    must not drag the commands out of the hard limits with it."""
    loop = Loop(Runtime(SITE, rules_policy(), mode="active", follow_plant_setpoints=True))
    lo = SITE.setpoints.chw_supply_c.min
    hi = SITE.setpoints.chw_supply_c.max
    for k in range(6):
        reading = loop.tel.row(0)
        reading["chw_supply_c_set"] = 45.0 if k % 2 else -10.0
        record = loop.rt.step(reading, ts=300.0 * k)
        loop.k += 1
        assert record.command is not None
        assert lo <= record.command["chw_supply_c"] <= hi


def test_an_outdoor_reading_the_shield_rejects_reaches_the_policy_as_missing():
    # the shield runs on without the dry-bulb, but the policy reads it since observation v1
    seen = []

    def policy(telemetry):
        seen.append(float(telemetry.outdoor_dry_bulb_c[0]))
        return rules_policy()(telemetry)

    rt = Runtime(SITE, policy, mode="active")
    params, sp, dist = constant_inputs(SITE, load=0.6)
    state = plantmod.initial_state(params, sp, dist)
    _, tel = plantmod.step(state, sp, dist, params)
    good = tel.row(0)
    rt.step(good, ts=0.0)
    spike = {**good, "outdoor_dry_bulb_c": good["outdoor_dry_bulb_c"] + 25.0}  # in 5 min
    record = rt.step(spike, ts=300.0)
    rt.step({**good}, ts=600.0)
    assert seen[0] == pytest.approx(good["outdoor_dry_bulb_c"])
    assert np.isnan(seen[1])  # the glitch never reaches the features
    assert seen[2] == pytest.approx(good["outdoor_dry_bulb_c"])
    assert record.command is not None  # and the loop went on commanding
