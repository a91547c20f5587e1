"""The gymnasium environments: API conformance, seeding, held-out weeks, batching."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import cooling.env
from cooling.env import CoolingEnv, CoolingVectorEnv, env_id
from cooling.env.core import EVAL_WEEK_START_DAYS, VALIDATION_WEEK_START_DAYS, training_start_days
from cooling.spec import load_site, site_names
from tests.conftest import with_airflow

IDS = cooling.env.register_envs()


@pytest.mark.parametrize("eid", IDS)
def test_registered_envs_pass_both_checkers(eid):
    env = gym.make(eid)
    check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(env.unwrapped, warn=False)
    names = env.unwrapped.observation_names
    assert len(names) == env.observation_space.shape[0]
    assert len(set(names)) == len(names)


def test_one_id_per_site():
    assert sorted(IDS) == sorted(env_id(s) for s in site_names())
    assert "cooling/Enterprise-v1" in IDS


def _rollout(env, seed, steps=60, action_seed=0):
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(action_seed)
    out = [obs]
    rewards = []
    for _ in range(steps):
        obs, r, _, _, info = env.step(rng.uniform(-1, 1, env.action_space.shape))
        out.append(obs)
        rewards.append((r, info["cost"], info["pue"]))
    return np.array(out), np.array(rewards)


def test_same_seed_same_trajectory_other_seed_differs():
    env = CoolingEnv("hyperscale")
    a_obs, a_r = _rollout(env, 7)
    b_obs, b_r = _rollout(env, 7)
    c_obs, _ = _rollout(env, 8)
    np.testing.assert_array_equal(a_obs, b_obs)
    np.testing.assert_array_equal(a_r, b_r)
    assert not np.array_equal(a_obs, c_obs)


def test_held_out_weeks_never_start_training_episodes():
    env = CoolingEnv("enterprise")
    starts = set()
    for seed in range(300):
        _, info = env.reset(seed=seed)
        starts.add(info["start_day"])
    allowed = set(training_start_days(7.0).tolist())
    assert starts <= allowed
    assert len(starts) > 100  # the start day really is random
    for h in EVAL_WEEK_START_DAYS + VALIDATION_WEEK_START_DAYS:
        for d in starts:  # no training week overlaps a held-out or a validation week
            assert d + 7 <= h or d >= h + 7
    for mode, weeks in (("eval", EVAL_WEEK_START_DAYS), ("validation", VALIDATION_WEEK_START_DAYS)):
        ev = CoolingEnv("enterprise", mode=mode)
        days = [ev.reset(seed=0)[1]["start_day"]] + [ev.reset()[1]["start_day"] for _ in range(3)]
        assert days == list(weeks)
        vec = CoolingVectorEnv("enterprise", num_envs=4, mode=mode)
        _, info = vec.reset(seed=0)
        assert sorted(info["start_day"]) == list(weeks)  # one row per week
    for v in VALIDATION_WEEK_START_DAYS:  # validation and test weeks are disjoint
        assert all(v + 7 <= h or v >= h + 7 for h in EVAL_WEEK_START_DAYS)


def test_a_seeded_reset_on_fixed_weeks_replays_the_same_episodes():
    # the validation episodes that score checkpoints must be the same at every evaluation
    def episodes(env, resets):
        out = []
        for _ in range(resets):
            obs, info = env.reset(seed=7)
            rewards = []
            for _ in range(12):
                obs, reward, *_ = env.step(np.zeros(env.action_space.shape, np.float32))
                rewards.append(np.asarray(reward).tolist())
            out.append((np.array(info["start_day"]).tolist(), obs.tolist(), rewards))
        return out

    vec = CoolingVectorEnv("enterprise", num_envs=4, mode="validation")
    first, again = episodes(vec, 2)
    assert first == again
    assert len({tuple(o) for o in np.array(first[1])}) == 4  # four different weeks
    single = CoolingEnv("enterprise", mode="eval")
    first, again = episodes(single, 2)
    assert first == again and first[0] == EVAL_WEEK_START_DAYS[0]
    single.reset()  # unseeded resets still cycle through the weeks
    assert single.reset()[1]["start_day"] == EVAL_WEEK_START_DAYS[2]


def test_training_episodes_that_wrap_past_new_year_avoid_next_years_weeks_too():
    # the traces wrap: a 30-day episode from day 358 would run into day 21's held-out week
    thirty = set(training_start_days(30.0).tolist())
    assert 340 in thirty and 358 not in thirty
    assert 358 in set(training_start_days(7.0).tolist())  # a week from day 358 ends on day 0
    with pytest.raises(ValueError, match=r"cannot avoid the held-out and validation weeks: "
                       r"episode_days <= 50"):  # fmt: skip
        CoolingEnv("enterprise", episode_days=60)


def test_action_mapping_both_ways():
    env = CoolingEnv("hyperscale")
    m = env.setpoint_map
    values = m.to_engineering(np.array([-1.0, 0.0, 1.0, 0.5, -0.5]))
    assert values[0] == m.lo[0] and values[2] == m.hi[2]
    np.testing.assert_allclose(m.to_action(values), [-1.0, 0.0, 1.0, 0.5, -0.5])


def test_an_exposed_crah_air_flow_is_one_more_action():
    plain = CoolingEnv("enterprise")
    env = CoolingEnv(with_airflow(load_site("enterprise"), lo=0.8, hi=1.0))
    assert env.action_space.shape[0] == plain.action_space.shape[0] + 1
    assert env.setpoint_map.names[-1] == "crah_airflow"
    assert "setpoint_crah_airflow" in env.observation_names
    fans = {}
    for end in (-1.0, 1.0):  # the least and the most air, all else the same
        env.reset(seed=0)
        action = np.zeros(env.action_space.shape, np.float32)
        action[-1] = end
        _, _, _, _, info = env.step(action)
        fans[end] = info["crah_fan_kw"]
    assert env.core.setpoints[0, 5] == pytest.approx(1.0)
    assert fans[-1.0] < 0.6 * fans[1.0]  # 0.8³ ≈ 0.51, above the fans' minimum speed


def test_vector_env_equals_single_envs():
    n, steps = 3, 40
    vec = CoolingVectorEnv("highdensity", num_envs=n, episode_days=0.1)
    singles = [CoolingEnv("highdensity", episode_days=0.1) for _ in range(n)]
    v_obs, _ = vec.reset(seed=10)
    s_obs = [e.reset(seed=10 + i)[0] for i, e in enumerate(singles)]
    np.testing.assert_array_equal(v_obs, np.array(s_obs))
    rng = np.random.default_rng(3)
    for _ in range(steps):  # crosses an episode end (0.1 day = 29 steps): autoreset
        actions = rng.uniform(-1, 1, (n, vec.single_action_space.shape[0])).astype(np.float32)
        v_obs, v_r, _, v_trunc, info = vec.step(actions)
        for i, e in enumerate(singles):
            obs, r, _, trunc, _ = e.step(actions[i])
            assert trunc == v_trunc[i]
            if trunc:
                np.testing.assert_array_equal(info["final_obs"][i], obs)
                obs, _ = e.reset()
            np.testing.assert_array_equal(v_obs[i], obs)
            assert v_r[i] == r


def test_reward_terms_and_info():
    env = CoolingEnv("enterprise")
    env.reset(seed=0)
    # the warmest, slowest-pumping setpoints: hot inlets, so a penalty and a cost
    for _ in range(24):
        _, r, _, _, info = env.step(np.array([1.0, 1.0, 1.0, -1.0], dtype=np.float32))
    assert r == pytest.approx(info["reward_energy"] + info["reward_penalty"])
    assert info["cost"] > 0 and info["reward_penalty"] < 0
    assert info["max_inlet_c"] > 27.0
    for key in ("pue", "facility_kw", "chiller_kw", "water_l", "carbon_kg", "cooling_kwh"):
        assert np.isfinite(info[key])
    env.reset(seed=0)
    _, r, _, _, info = env.step(np.zeros(4, dtype=np.float32))
    assert -3.0 < info["reward_energy"] < 0.0  # order 1
    assert info["cost"] == 0.0


def test_the_penalty_margin_moves_the_penalty_below_27_c_and_not_the_cost():
    """penalty_margin_k = m: the same plant and energy term, a penalty from 27 − m °C on
    (λ per K), the cost still counted above 27 °C."""
    margin_k = 2.0
    runs = {}
    for m in (0.0, margin_k):
        env = CoolingEnv("enterprise", penalty_margin_k=m)
        env.reset(seed=0)
        infos = []
        for _ in range(12):  # warm, slow-pumping setpoints: the inlets climb past 25 °C
            infos.append(env.step(np.array([1.0, 1.0, 1.0, -1.0], dtype=np.float32))[4])
        runs[m] = infos
    warm = [(a, b) for a, b in zip(runs[0.0], runs[margin_k], strict=True)
            if a["max_inlet_c"] > 27.0 - margin_k]  # fmt: skip
    assert warm, "the inlets never came within the margin: the test shows nothing"
    for a, b in zip(runs[0.0], runs[margin_k], strict=True):
        assert a["max_inlet_c"] == b["max_inlet_c"] and a["reward_energy"] == b["reward_energy"]
        assert a["cost"] == b["cost"] == max(a["max_inlet_c"] - 27.0, 0.0)
        expected = -max(a["max_inlet_c"] - (27.0 - margin_k), 0.0)  # λ = 1, no inlet > 32 °C
        assert b["reward_penalty"] == pytest.approx(expected)
    assert any(b["reward_penalty"] < a["reward_penalty"] for a, b in warm)
    for bad in (-1.0, 6, "0.5", True):
        with pytest.raises(ValueError, match=r"penalty_margin_k must be a number in 0\.\.5 K"):
            CoolingEnv("enterprise", penalty_margin_k=bad)


def test_domain_randomisation_and_sensor_noise_change_the_plant():
    base = _rollout(CoolingEnv("enterprise"), 1)[0]
    noisy = _rollout(CoolingEnv("enterprise", sensor_noise_c=0.5), 1)[0]
    randomized = _rollout(CoolingEnv("enterprise", randomize=0.2), 1)[0]
    assert not np.array_equal(base, noisy)
    assert not np.array_equal(base, randomized)
    assert np.all(np.isfinite(randomized))


def test_stepping_past_the_end_and_bad_options_are_errors():
    env = CoolingEnv("enterprise", episode_days=0.1)
    env.reset(seed=0)
    for _ in range(29):
        env.step(np.zeros(4, dtype=np.float32))
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(np.zeros(4, dtype=np.float32))
    with pytest.raises(ValueError, match="mode must be"):
        CoolingEnv("enterprise", mode="test")
    with pytest.raises(ValueError, match=r"unknown environment option\(s\) \['colour'\]"):
        CoolingEnv("enterprise", colour="red")
    with pytest.raises(ValueError, match="unknown site 'atlantis'"):
        CoolingEnv("atlantis")
    with pytest.raises(ValueError, match="finite"):
        env.reset(seed=0)
        env.step(np.array([np.nan, 0, 0, 0]))


def test_sb3_adapter_reports_terminal_observations():
    from stable_baselines3.common.vec_env import VecMonitor

    from cooling.env.sb3 import SB3VecEnv

    venv = VecMonitor(SB3VecEnv(CoolingVectorEnv("enterprise", num_envs=2, episode_days=0.1)))
    venv.seed(5)
    obs = venv.reset()
    assert obs.shape == (2, 26)
    for _ in range(28):
        _, _, dones, _ = venv.step(np.zeros((2, 4), dtype=np.float32))
        assert not dones.any()
    _, _, dones, infos = venv.step(np.zeros((2, 4), dtype=np.float32))
    assert dones.all()
    assert infos[0]["terminal_observation"].shape == (26,)
    assert infos[0]["TimeLimit.truncated"] is True
    assert "episode" in infos[0]  # VecMonitor saw a whole episode


def test_site_spec_does_not_hide_gymnasiums_env_spec():
    env = CoolingEnv("highdensity")
    assert env.site_spec.name == "highdensity" and env.spec is None
    assert "CoolingEnv" in str(env)  # gymnasium reads env.spec.id when there is one
    made = gym.make(env_id("highdensity"))
    assert made.spec.id == env_id("highdensity")
    assert made.unwrapped.site_spec.name == "highdensity"
    assert env_id("highdensity") in str(made)


def test_import_cooling_then_make_registers_the_ids():
    import subprocess
    import sys

    code = "import gymnasium, cooling; print(gymnasium.make('cooling/Enterprise-v1').spec.id)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "cooling/Enterprise-v1"
