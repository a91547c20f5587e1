"""Training end to end on a tiny budget, the exported actor, recipe errors."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
import yaml

from cooling import train
from cooling.control.policy import PolicyError, TorchActor
from cooling.demo import SHIPPED
from tests.conftest import load_benchmark

TINY = {
    "algorithm": "PPO",
    "site": "enterprise",
    "seed": 3,
    "steps": 256,
    "num_envs": 2,
    "env": {"episode_days": 0.2},
    "hyperparameters": {"n_steps": 64, "batch_size": 64, "n_epochs": 1},
    "net_arch": [16, 16],
    "eval_every_steps": 128,
    "eval_episodes": 4,
    "evaluate_baselines": False,
}


def _recipe(tmp_path, **changes):
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump({**TINY, **changes}))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train")
    out = tmp / "out"
    cmd = [sys.executable, "-m", "cooling.cli", "train", "--recipe", str(_recipe(tmp)),
           "--out", str(out), "--no-progress"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return out, json.loads(done.stdout)


def test_training_writes_policy_actor_and_model_card(trained):
    out, evaluation = trained
    card = json.loads((out / "model_card.json").read_text())
    for key in ("site", "policy", "recipe", "seed", "steps", "wall_time_s", "versions",
                "selection", "evaluation", "command"):  # fmt: skip
        assert key in card
    assert card["site"] == "enterprise" and card["seed"] == 3 and card["steps"] == 256
    assert card["command"].startswith("cooling train --recipe")
    assert card["evaluation"] == evaluation
    assert 1.0 < evaluation["pue"] < 2.0
    assert (out / "policy.zip").is_file() and (out / "actor.pt").is_file()
    # TensorBoard event files, with the validation evaluations among their scalars
    (events,) = (out / "tensorboard").glob("*/events.out.tfevents.*")
    assert card["tensorboard"].endswith("tensorboard")
    assert b"eval/mean_reward" in events.read_bytes()


def test_the_checkpoint_is_chosen_on_validation_weeks_not_the_held_out_ones(trained):
    from cooling.env import CoolingVectorEnv
    from cooling.env.core import EVAL_WEEK_START_DAYS, VALIDATION_WEEK_START_DAYS

    out, _ = trained
    selection = json.loads((out / "model_card.json").read_text())["selection"]
    assert selection["on"] == "validation weeks"
    assert selection["start_days"] == list(VALIDATION_WEEK_START_DAYS)
    # 256 steps, evaluated every 128: two evaluations, the best of them shipped
    record = np.load(out / "checkpoints" / "evaluations.npz")
    assert selection["evaluations"] == 2 == len(record["timesteps"])
    means = record["results"].mean(axis=1)
    assert selection["best_step"] == int(record["timesteps"][np.argmax(means)])
    assert selection["best_mean_reward"] == pytest.approx(means.max(), abs=1e-4)
    # the card carries the whole curve the choice was made on
    assert selection["curve"]["steps"] == [int(t) for t in record["timesteps"]]
    assert selection["curve"]["mean_rewards"] == pytest.approx(list(means), abs=1e-4)
    assert max(selection["curve"]["mean_rewards"]) == selection["best_mean_reward"]
    # the shipped policy is that checkpoint: replayed on the validation episodes (reset
    # with the selection's seed) it scores the reward it was chosen for
    from stable_baselines3 import PPO
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import VecMonitor

    from cooling.env.sb3 import SB3VecEnv

    recipe = train.load_recipe(_recipe(out.parent))
    assert selection["seed"] == train.VALIDATION_SEED
    weeks = train.week_options(recipe, "validation")
    replay = VecMonitor(SB3VecEnv(CoolingVectorEnv("enterprise", recipe.eval_episodes, **weeks)))
    replay.seed(selection["seed"])
    model = PPO.load(out / "policy.zip", device="cpu")
    rewards, _ = evaluate_policy(model, replay, recipe.eval_episodes, return_episode_rewards=True)
    assert np.mean(rewards) == pytest.approx(selection["best_mean_reward"], abs=1e-4)
    # and so does the helper that scores runs again after a change (benchmarks/validation.py)
    assert train.validation_reward(out / "policy.zip") == pytest.approx(
        selection["best_mean_reward"], abs=1e-4
    )
    # the selection episodes (as many as the recipe's eval_episodes) really start on the
    # validation weeks, each once, none on a held-out one
    options = train.week_options(recipe, "validation")
    venv = CoolingVectorEnv("enterprise", recipe.eval_episodes, **options)
    _, info = venv.reset(seed=0)
    assert sorted(info["start_day"]) == list(VALIDATION_WEEK_START_DAYS)
    assert not set(info["start_day"]) & set(EVAL_WEEK_START_DAYS)


def test_exported_actor_matches_the_sb3_policy(trained):
    from stable_baselines3 import PPO

    from cooling.env import CoolingEnv

    out, _ = trained
    model = PPO.load(out / "policy.zip", device="cpu")
    actor = TorchActor(out / "actor.pt", observation_size=26)
    env = CoolingEnv("enterprise")
    obs, _ = env.reset(seed=0)
    for _ in range(5):
        expected, _ = model.predict(obs, deterministic=True)
        got = actor(obs)[0]
        np.testing.assert_allclose(got, np.clip(expected, -1, 1), atol=1e-5)
        obs, *_ = env.step(got.astype(np.float32))
    with pytest.raises(PolicyError, match="expects 26 observation features, got 31"):
        actor(np.zeros(31, dtype=np.float32))


def test_actor_loads_without_stable_baselines3_or_gymnasium(trained):
    out, _ = trained
    code = (
        "import sys, numpy as np; from cooling.control.policy import TorchActor; "
        "a = TorchActor(sys.argv[1])(np.zeros((1, 26), dtype=np.float32)); "
        "bad = [k for k in ('stable_baselines3', 'gymnasium') if k in sys.modules]; "
        "print(a.shape, bad)"
    )
    done = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code,
                           str(out / "actor.pt")], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(1, 4) []"


@pytest.mark.parametrize("algorithm", ["SAC", "PPO", "TD3"])
def test_every_algorithm_exports_an_actor_that_acts_as_its_policy(tmp_path, algorithm):
    import torch

    from cooling.control.policy import ACTOR_FORMAT
    from cooling.env import CoolingEnv

    env = CoolingEnv("highdensity")
    model = train._algorithm_class(algorithm)(
        "MlpPolicy", env, seed=5, device="cpu", policy_kwargs={"net_arch": [32, 16]}
    )
    train.export_actor(model, tmp_path / "actor.pt")
    payload = torch.load(tmp_path / "actor.pt", weights_only=True)  # tensors and names only
    assert payload["format"] == ACTOR_FORMAT
    assert [tuple(w.shape) for w in payload["weights"]] == [(32, 27), (16, 32), (5, 16)]
    actor = TorchActor(tmp_path / "actor.pt")
    assert actor.observation_size == 27
    obs, _ = env.reset(seed=1)
    for _ in range(20):
        expected, _ = model.predict(obs, deterministic=True)
        got = actor(obs)[0]
        np.testing.assert_allclose(got, np.clip(expected, -1, 1), atol=1e-5)
        obs, *_ = env.step(env.action_space.sample())


def test_export_actor_command_rewrites_the_actor_of_a_policy(tmp_path, trained):
    out, _ = trained
    target = tmp_path / "again.pt"
    done = subprocess.run(
        [sys.executable, "-m", "cooling.cli", "export-actor", "--policy", str(out / "policy.zip"),
         "--out", str(target)], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    obs = np.random.default_rng(2).normal(0, 2, (64, 26)).astype(np.float32)
    np.testing.assert_array_equal(TorchActor(target)(obs), TorchActor(out / "actor.pt")(obs))
    done = subprocess.run(
        [sys.executable, "-m", "cooling.cli", "export-actor", "--policy", str(out / "actor.pt")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2
    assert "not a stable-baselines3 policy of PPO" in done.stderr


def test_an_actor_file_that_would_run_code_is_refused(tmp_path):
    import torch

    # a whole pickled module (code, not tensors): weights-only loading refuses it
    net = torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.Tanh())
    torch.save(net, tmp_path / "pickled.pt")
    with pytest.raises(PolicyError, match="not an exported actor"):
        TorchActor(tmp_path / "pickled.pt")
    # TorchScript (how actors were exported before) runs its own code when loaded
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(net, torch.zeros(1, 4)).save(str(tmp_path / "script.pt"))
    with pytest.raises(PolicyError, match=r"TorchScript actor.*cooling export-actor"):
        TorchActor(tmp_path / "script.pt")


def torch_ints(n):
    import torch

    return torch.zeros(n, dtype=torch.int64)


def _payload(**changes):
    import torch

    from cooling.control.policy import ACTOR_FORMAT

    gen = torch.Generator().manual_seed(0)
    payload = {"format": ACTOR_FORMAT, "observation_size": 4, "action_size": 2,
               "hidden_activation": "relu", "output": "tanh",
               "weights": [torch.randn(8, 4, generator=gen), torch.randn(2, 8, generator=gen)],
               "biases": [torch.zeros(8), torch.zeros(2)]}  # fmt: skip
    return {**payload, **changes}


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"format": "something-else"}, r"format: 'something-else'"),
        ({"output": "sigmoid"}, r"output one of \('tanh', 'clip'\)"),
        ({"weights": [[[1.0] * 4] * 8, [[1.0] * 8] * 2]}, r"layer 0: weight is not a real"),
        ({"biases": [np.zeros(8), np.zeros(2)]}, r"objects other than tensors.*numpy"),
        ({"biases": [torch_ints(8), torch_ints(2)]}, r"layer 0: bias is not a real floating"),
        ({"observation_size": 5}, r"observation_size is 5 but the weights give 4"),
        ({"action_size": 3}, r"action_size is 3 but the weights give 2"),
    ],
)
def test_malformed_actor_payloads_are_refused(tmp_path, changes, pattern):
    import torch

    torch.save(_payload(**changes), tmp_path / "actor.pt")
    with pytest.raises(PolicyError, match=pattern):
        TorchActor(tmp_path / "actor.pt")


def test_actor_with_nan_weights_or_another_models_card_is_refused(tmp_path):
    import torch

    good = _payload()
    torch.save(good, tmp_path / "ok.pt")
    actor = TorchActor(tmp_path / "ok.pt")
    assert actor.observation_size == 4
    out = actor(np.full((3, 4), 50.0, dtype=np.float32))
    assert out.shape == (3, 2) and np.all(np.abs(out) <= 1.0)
    with pytest.raises(PolicyError, match="takes 4 observation features, but its model card"):
        TorchActor(tmp_path / "ok.pt", observation_size=5)
    bad = [good["weights"][0].clone(), good["weights"][1]]
    bad[0][3, 1] = float("nan")
    torch.save(_payload(weights=bad), tmp_path / "nan.pt")
    with pytest.raises(PolicyError, match="layer 0: weight holds NaN"):
        TorchActor(tmp_path / "nan.pt")


def test_a_run_without_an_evaluation_ships_its_final_model_not_an_earlier_runs_best(
    tmp_path, trained
):
    import shutil

    out, _ = trained
    again = tmp_path / "again"
    shutil.copytree(out, again)  # an earlier run's best checkpoint lies in OUT/checkpoints
    recipe = train.load_recipe(_recipe(tmp_path, steps=128, eval_every_steps=100_000))
    card = train.train(recipe, again, "test", False)
    assert card["selection"]["evaluations"] == 0 and card["selection"]["best_step"] is None
    assert card["selection"]["curve"] == {"steps": [], "mean_rewards": []}
    assert card["selection"]["on"].startswith("none")
    assert not (again / "checkpoints" / "best_model.zip").exists()
    assert (again / "policy.zip").read_bytes() != (out / "policy.zip").read_bytes()


def test_every_checkpoint_is_scored_on_the_same_validation_episodes(tmp_path):
    # SAC before learning_starts never updates: the same policy at every evaluation, so
    # the same score, unless the evaluations ran on different episodes (different load
    # noise, or the weeks in other rows), as SB3's unseeded resets gave them
    recipe = train.load_recipe(_recipe(
        tmp_path, algorithm="SAC", steps=256, eval_every_steps=64,
        hyperparameters={"learning_starts": 10_000, "buffer_size": 1_000}))  # fmt: skip
    train.train(recipe, tmp_path / "out", "test", False)
    record = np.load(tmp_path / "out" / "checkpoints" / "evaluations.npz")
    assert len(record["timesteps"]) == 4
    results = record["results"]  # (evaluations, episodes)
    assert len(set(results[0].tolist())) == 4  # four weeks, four different rewards
    for later in results[1:]:
        np.testing.assert_array_equal(later, results[0])


def test_the_model_card_names_the_commit_that_trained(trained):
    import shutil

    out, _ = trained
    source = json.loads((out / "model_card.json").read_text())["source"]
    if shutil.which("git") is None:
        assert source is None
        return
    head = subprocess.run(["git", "-C", str(train.ROOT), "rev-parse", "HEAD"],
                          capture_output=True, text=True)  # fmt: skip
    if head.returncode != 0:
        assert source is None  # not a git checkout
    else:
        assert source["commit"] == head.stdout.strip()
        assert isinstance(source["modified"], bool)


def test_source_says_whether_the_code_differs_from_its_commit(tmp_path, monkeypatch):
    import shutil

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    (repo / "cooling").mkdir(parents=True)
    (repo / "cooling" / "a.py").write_text("x = 1\n")
    (repo / "out").mkdir()  # run outputs: not code
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "cooling"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "c"], check=True)
    monkeypatch.setattr(train, "ROOT", repo)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
    (repo / "out" / "run.log").write_text("training\n")
    assert train._source() == {"commit": commit.stdout.strip(), "modified": False}
    (repo / "cooling" / "a.py").write_text("x = 2\n")
    assert train._source() == {"commit": commit.stdout.strip(), "modified": True}
    # a package directory inside another repository is not that repository's code
    monkeypatch.setattr(train, "ROOT", repo / "cooling")
    assert train._source() is None
    monkeypatch.setattr(train, "ROOT", tmp_path / "plain")  # not a checkout at all
    (tmp_path / "plain").mkdir()
    assert train._source() is None


def test_a_linear_schedule_in_a_recipe_falls_to_zero_over_training(tmp_path):
    from stable_baselines3 import PPO

    hp = {**TINY["hyperparameters"], "learning_rate": "lin_1e-3", "clip_range": "lin_0.2"}
    recipe = train.load_recipe(_recipe(tmp_path, hyperparameters=hp, eval_every_steps=10**6))
    card = train.train(recipe, tmp_path / "out", "test", False)
    assert card["recipe"]["hyperparameters"]["learning_rate"] == "lin_1e-3"  # as written
    model = PPO.load(tmp_path / "out" / "policy.zip", device="cpu")
    assert model.lr_schedule(1.0) == pytest.approx(1e-3) and model.lr_schedule(0.0) == 0.0
    assert model.clip_range(0.5) == pytest.approx(0.1)
    # the optimiser's rate at the last update: near zero, not the starting 1e-3
    assert model.policy.optimizer.param_groups[0]["lr"] < 1e-3


def test_a_recipe_sets_ppo_s_initial_exploration_through_policy_kwargs(tmp_path):
    from stable_baselines3 import PPO

    hp = {**TINY["hyperparameters"], "log_std_init": -2.0}
    recipe = train.load_recipe(_recipe(tmp_path, hyperparameters=hp, eval_every_steps=10**6))
    assert "log_std_init" not in train._constructor_kwargs(recipe)
    assert train._policy_kwargs(recipe) == {"net_arch": [16, 16], "log_std_init": -2.0}
    card = train.train(recipe, tmp_path / "out", "test", False)
    assert card["recipe"]["hyperparameters"]["log_std_init"] == -2.0  # as written
    # the trained policy explores with a standard deviation near e^-2, not SB3's default 1
    # (a tiny budget moves it by far less than that)
    log_std = PPO.load(tmp_path / "out" / "policy.zip", device="cpu").policy.log_std
    assert log_std.detach().numpy() == pytest.approx(-2.0, abs=0.05)


def test_same_recipe_and_seed_same_policy_figures(tmp_path, trained):
    _, first = trained
    card = train.train(train.load_recipe(_recipe(tmp_path)), tmp_path / "again", "test", False)
    for key in ("pue", "cooling_kwh", "violation_step_fraction"):
        assert card["evaluation"][key] == pytest.approx(first[key], rel=1e-6)


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"algorithm": "DQNX"}, r"unknown algorithm 'DQNX'; allowed: SAC, PPO, TD3"),
        ({"hyperparameters": {"learning_rat": 0.1}}, r"unknown for PPO: \['learning_rat'\]"),
        ({"batchsize": 3}, r"allowed keys"),
        ({"env": {"colour": "red"}}, r"unknown environment option"),
        ({"steps": 0}, r"steps"),
        ({"noise_type": "pink"}, r"noise_type: unknown 'pink'; allowed: normal, ornstein"),
        ({"noise_type": "normal"}, r"PPO explores with its own stochastic policy"),
        ({"algorithm": "TD3", "noise_type": "normal", "noise_std": 0}, r"noise_std"),
        ({"algorithm": "TD3", "hyperparameters": {"action_noise": 0.1}}, r"unknown for TD3"),
        ({"hyperparameters": {"use_sde": True}}, r"use_sde is not supported"),
        ({"eval_episodes": 2}, r"eval_episodes: Input should be a multiple of 4"),
        (
            {"hyperparameters": {"learning_rate": "cos_3e-4"}},
            r"learning_rate: expected a number "
            r"or a linear schedule 'lin_X' with X > 0, e\.g\. lin_3e-4 \(got 'cos_3e-4'\)",
        ),
        ({"hyperparameters": {"learning_rate": "lin_-1"}}, r"learning_rate: expected"),
        ({"env": {"mode": "eval"}}, r"env: mode is the trainer's"),
        (
            {"hyperparameters": {"log_std_init": 3.0}},
            r"log_std_init: expected a number in \[-5, 1\] \(got 3\.0\)",
        ),
        ({"hyperparameters": {"log_std_init": "low"}}, r"log_std_init: expected a number"),
        ({"algorithm": "SAC", "hyperparameters": {"log_std_init": -1}}, r"unknown for SAC"),
    ],
)
def test_bad_recipes_get_clear_errors(tmp_path, changes, pattern):
    with pytest.raises(train.RecipeError, match=pattern):
        train.load_recipe(_recipe(tmp_path, **changes))


def test_missing_policy_file_is_a_clear_error(tmp_path):
    with pytest.raises(PolicyError, match="policy file not found"):
        TorchActor(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_text("not a model")
    with pytest.raises(PolicyError, match="not an exported actor"):
        TorchActor(bad)


def test_recipe_noise_becomes_sb3_action_noise(tmp_path):
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

    recipe = train.load_recipe(_recipe(tmp_path, algorithm="TD3", noise_type="normal",
                                       noise_std=0.2, hyperparameters={}))  # fmt: skip
    noise = train._action_noise(recipe, 5)
    assert isinstance(noise, NormalActionNoise)
    np.random.seed(0)  # noqa: NPY002 (SB3 action noise draws from the global generator)
    draws = np.array([noise() for _ in range(4000)])
    assert draws.shape == (4000, 5)
    assert np.allclose(draws.std(axis=0), 0.2, rtol=0.1)
    ou = train.load_recipe(_recipe(tmp_path, algorithm="SAC", noise_type="ornstein-uhlenbeck",
                                   hyperparameters={}))  # fmt: skip
    assert isinstance(train._action_noise(ou, 4), OrnsteinUhlenbeckActionNoise)
    assert train._action_noise(train.load_recipe(_recipe(tmp_path)), 4) is None


def test_shipped_recipes_are_valid():
    for name in ("sac", "ppo", "td3"):
        recipe = train.load_recipe(train.ROOT / "agents" / f"{name}.yaml")
        assert recipe.algorithm == name.upper()
    # every recipe in agents/ loads, the experiments' variants too
    for path in (train.ROOT / "agents").glob("*.yaml"):
        assert train.load_recipe(path).algorithm in ("SAC", "PPO", "TD3"), path
    # the linear-schedule variant is sac.yaml but for its learning rate
    sac, lin = (
        train.load_recipe(train.ROOT / "agents" / f"{n}.yaml") for n in ("sac", "sac-lr-linear")
    )
    assert lin.hyperparameters["learning_rate"] == "lin_3e-4"
    assert dataclasses.replace(lin, hyperparameters=sac.hyperparameters) == sac
    # and the discount variant is sac.yaml but for its gamma
    g95 = train.load_recipe(train.ROOT / "agents" / "sac-gamma95.yaml")
    assert g95.hyperparameters == {**sac.hyperparameters, "gamma": 0.95}
    assert dataclasses.replace(g95, hyperparameters=sac.hyperparameters) == sac
    ppo, ppo95 = (
        train.load_recipe(train.ROOT / "agents" / f"{n}.yaml") for n in ("ppo", "ppo-gamma95")
    )
    assert ppo95.hyperparameters == {**ppo.hyperparameters, "gamma": 0.95}
    assert dataclasses.replace(ppo95, hyperparameters=ppo.hyperparameters) == ppo
    low = train.load_recipe(train.ROOT / "agents" / "ppo-gamma95-lowstd.yaml")
    assert low.hyperparameters == {**ppo95.hyperparameters, "log_std_init": -1.0}
    assert dataclasses.replace(low, hyperparameters=ppo.hyperparameters) == ppo
    lowlin = train.load_recipe(train.ROOT / "agents" / "ppo-gamma95-lowstd-lrlin.yaml")
    assert lowlin.hyperparameters == {**low.hyperparameters, "learning_rate": "lin_3e-4"}
    assert dataclasses.replace(lowlin, hyperparameters=ppo.hyperparameters) == ppo
    # the shield-margin variants are ppo-gamma95.yaml but for where the penalty starts
    for name, margin_k in (("ppo-gamma95-margin05", 0.5), ("ppo-gamma95-margin1", 1.0)):
        margin = train.load_recipe(train.ROOT / "agents" / f"{name}.yaml")
        assert margin.env == {**ppo95.env, "penalty_margin_k": margin_k}
        assert dataclasses.replace(margin, env=ppo95.env) == ppo95


def test_policy_controller_sees_what_the_environment_shows(trained):
    from cooling.control.baselines import StepContext
    from cooling.control.policy import load_policy
    from cooling.env import CoolingEnv
    from cooling.spec import load_site

    out, _ = trained
    site = load_site("enterprise")
    controller = load_policy(out / "policy.zip", site)
    env = CoolingEnv("enterprise")
    obs, _ = env.reset(seed=4)
    for _ in range(3):
        obs, *_ = env.step(env.action_space.sample())
    core = env.core

    class Hours:  # the context's traces only need the hours of the step
        hours = core.hours()[None, :]

    features = {}
    real_actor = controller.actor

    def capture(o):
        features["obs"] = o.copy()
        return real_actor(o)

    controller.actor = capture
    controller(core.telemetry, StepContext(None, None, Hours, 0))
    np.testing.assert_allclose(features["obs"][0], obs, atol=1e-6)


def test_evaluate_compares_on_the_same_weeks(trained):
    from cooling.control.policy import load_policy
    from cooling.evaluate import evaluate
    from cooling.spec import load_site

    out, _ = trained
    site = load_site("enterprise")
    result = evaluate(site, load_policy(out / "policy.zip", site), controllers=("fixed", "rules"))
    assert result["weeks"] == [21, 112, 203, 294]
    assert set(result["controllers"]) == {"policy", "fixed", "rules"}
    for r in result["controllers"].values():
        assert r["hours"] == 4 * 7 * 24
    fixed = result["controllers"]["fixed"]["cooling_kwh"]
    policy = result["controllers"]["policy"]["cooling_kwh"]
    assert result["cooling_saving_vs"]["fixed"] == pytest.approx(1 - policy / fixed)
    assert 0.0 <= result["violation_step_fraction"] <= 1.0
    # the validation weeks, where a researcher compares recipes without the test set
    policy_controller = load_policy(out / "policy.zip", site)
    val = evaluate(site, policy_controller, "validation", controllers=("fixed",))
    assert val["weeks"] == [56, 147, 238, 329]
    assert val["controllers"]["fixed"]["hours"] == 4 * 7 * 24
    assert val["controllers"]["fixed"]["cooling_kwh"] != pytest.approx(fixed, rel=1e-3)
    with pytest.raises(ValueError, match="'held-out', 'validation' or 'all'"):
        evaluate(site, None, "test", controllers=("fixed",))


def test_oracle_capture_is_the_share_of_the_oracles_saving_against_a_baseline():
    from cooling.evaluate import oracle_capture

    kwh = {"fixed": 200.0, "rules": 120.0, "oracle": 100.0, "policy": 110.0}
    assert oracle_capture(kwh, "fixed") == pytest.approx(90 / 100)
    assert oracle_capture(kwh, "rules") == pytest.approx(10 / 20)
    assert oracle_capture({**kwh, "policy": 130.0}, "rules") == pytest.approx(-10 / 20)
    assert np.isnan(oracle_capture({**kwh, "oracle": 125.0}, "rules"))  # nothing to win


def test_evaluate_runs_every_controller_on_the_same_perturbed_plant(trained):
    from cooling.control.policy import load_policy
    from cooling.evaluate import evaluate
    from cooling.spec import load_site

    out, _ = trained
    site = load_site("enterprise")
    nominal = evaluate(site, None, controllers=("fixed",))
    off = evaluate(site, None, controllers=("fixed",), perturb=0.2, sensor_noise_c=0.5)
    assert off["perturb"] == 0.2 and off["sensor_noise_c"] == 0.5 and "perturb" not in nominal
    # fixed setpoints on a plant 20 % off its spec: a different plant, different energy
    kwh = nominal["controllers"]["fixed"]["cooling_kwh"], off["controllers"]["fixed"]["cooling_kwh"]
    assert abs(kwh[1] / kwh[0] - 1.0) > 0.005
    again = evaluate(site, load_policy(out / "policy.zip", site), controllers=("fixed",),
                     perturb=0.2, sensor_noise_c=0.5)  # fmt: skip
    assert again["controllers"]["fixed"] == off["controllers"]["fixed"]  # same plant, seeded


def test_evaluate_command_runs_only_the_baselines_asked_for(trained):
    out, _ = trained
    base = [sys.executable, "-m", "cooling.cli", "evaluate", "--policy", str(out / "policy.zip")]
    done = subprocess.run([*base, "--baselines", "fixed", "--jobs", "2", "--json"],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result["controllers"]) == {"policy", "fixed"}
    assert set(result["cooling_saving_vs"]) == {"fixed"} and "oracle_capture" not in result
    done = subprocess.run([*base, "--baselines", "none"], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "policy cooling saving" not in done.stdout and "steps above 27 °C" in done.stdout
    # piped, the table is not cut to 80 columns: whole headers, no ellipsis
    assert "│ policy " in done.stdout and "min > 32 °C" in done.stdout and "…" not in done.stdout
    for bad in ("fixed,magic", "fixed,fixed", ","):
        done = subprocess.run([*base, "--baselines", bad], capture_output=True, text=True,
                              timeout=300)  # fmt: skip
        assert done.returncode == 2
        assert "comma-separated subset of fixed,rules,oracle (or none)" in done.stderr
    done = subprocess.run([*base, "--jobs", "0"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "expected a whole number from 1 to 256" in done.stderr
    train_cmd = [sys.executable, "-m", "cooling.cli", "train", "--recipe", "agents/sac.yaml"]
    done = subprocess.run([*train_cmd, "--jobs", "0"], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 2 and "--jobs: expected a whole number from 1 to 256" in done.stderr


def test_a_weather_offset_shifts_only_the_policys_typical_weather(trained):
    from cooling.control.policy import load_policy
    from cooling.evaluate import evaluate
    from cooling.plant.weather import load_weather
    from cooling.plant.workload import load_utilisation
    from cooling.spec import load_site

    out, _ = trained
    site = load_site("enterprise")
    weather = load_weather(site.path(site.weather))
    util = load_utilisation(site.path(site.it.workload))
    shifted = load_policy(out / "policy.zip", site, weather_offset_days=7)
    h = np.arange(100, 200)
    np.testing.assert_array_equal(shifted.wet_bulb_c[h], weather.wet_bulb_c[h + 168])
    np.testing.assert_array_equal(shifted.dry_bulb_c[h], weather.dry_bulb_c[h + 168])
    np.testing.assert_array_equal(shifted.utilisation, util)  # the load is the plant's
    same = load_policy(out / "policy.zip", site)
    np.testing.assert_array_equal(same.wet_bulb_c, weather.wet_bulb_c)
    a = evaluate(site, same, weeks="validation", controllers=("rules",))
    b = evaluate(site, shifted, weeks="validation", controllers=("rules",))
    assert "weather_offset_days" not in a and b["weather_offset_days"] == 7
    assert b["controllers"]["rules"] == a["controllers"]["rules"]  # the plant is the same
    assert b["controllers"]["policy"]["cooling_kwh"] != a["controllers"]["policy"]["cooling_kwh"]
    base = [sys.executable, "-m", "cooling.cli", "evaluate", "--site", "enterprise"]
    for policy, offset, message in (
        (str(out / "policy.zip"), "400", "must be in -182..182 days, got 400"),
        (str(out / "policy.zip"), "1.5", "expected a whole number of days from -182 to 182"),
        ("random", "3", "--weather-offset-days applies to a trained policy"),
    ):
        done = subprocess.run([*base, "--policy", policy, "--weather-offset-days", offset],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 2 and message in done.stderr, done.stderr


def test_a_policy_trained_on_another_observation_version_is_refused(tmp_path, trained):
    import shutil

    from cooling.control.policy import load_policy
    from cooling.features import OBSERVATION_VERSION
    from cooling.spec import load_site

    out, _ = trained
    card = json.loads((out / "model_card.json").read_text())
    assert card["observation_version"] == OBSERVATION_VERSION
    copy = tmp_path / "v0"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("tensorboard", "checkpoints"))
    old = {k: v for k, v in card.items() if k != "observation_version"}  # as cards before v1
    (copy / "model_card.json").write_text(json.dumps(old))
    with pytest.raises(PolicyError, match="trained on observation v0; this dc-cooling computes v1"):
        load_policy(copy / "policy.zip", load_site("enterprise"))


def test_a_policy_for_another_site_is_refused(trained):
    out, _ = trained
    done = subprocess.run(
        [sys.executable, "-m", "cooling.cli", "evaluate", "--policy", str(out / "policy.zip"),
         "--site", "hyperscale", "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2
    assert "trained on 26 observation features; site hyperscale has 31" in done.stderr


def test_refresh_card_evaluates_again_and_keeps_the_training_record(tmp_path, trained):
    import shutil

    from cooling.control.policy import load_policy
    from cooling.evaluate import evaluate, refresh_card
    from cooling.spec import load_site

    out, _ = trained
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    before = json.loads((copy / "model_card.json").read_text())
    card = refresh_card(copy / "model_card.json", controllers=("fixed",))
    assert card == json.loads((copy / "model_card.json").read_text())  # stored
    site = load_site("enterprise")
    fresh = evaluate(site, load_policy(copy / "policy.zip", site), controllers=("fixed",))
    assert card["evaluation"] == fresh != before["evaluation"]
    assert card["evaluation_command"] == (
        f"cooling evaluate --policy {before['policy']} --site enterprise --baselines fixed --json"
    )
    rest = {k: v for k, v in card.items() if k not in ("evaluation", "evaluation_command")}
    assert rest == {k: v for k, v in before.items() if k != "evaluation"}


def test_evaluate_in_worker_processes_gives_the_same_result(trained):
    from cooling.control.policy import load_policy
    from cooling.evaluate import evaluate
    from cooling.spec import load_site

    out, _ = trained
    site = load_site("enterprise")
    policy = load_policy(out / "policy.zip", site)
    runs, calls = [], []
    for jobs in (1, 3):
        records: dict = {}
        result = evaluate(site, policy, controllers=("fixed", "rules"), records=records,
                          perturb=0.1, jobs=jobs,
                          progress=lambda *a: calls.append(a))  # fmt: skip
        runs.append((result, records))
    assert runs[0] == runs[1]
    # progress after every week of every controller, in order, for either
    assert (
        calls[:12]
        == calls[12:]
        == [
            (name, k, 12)
            for k, name in enumerate(["policy"] * 4 + ["fixed"] * 4 + ["rules"] * 4, 1)
        ]
    )
    assert len(runs[1][1]["rules"]) == 4 * 7 * 288  # every week's history, in order
    assert [r["hour"] for r in runs[1][1]["rules"][:: 7 * 288]] == [21 * 24, 112 * 24, 203 * 24,
                                                                     294 * 24]  # fmt: skip
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        evaluate(site, policy, controllers=("fixed",), jobs=0)


def test_the_best_run_on_validation_is_named_only_among_comparable_runs():
    algorithms = load_benchmark("algorithms")

    def card(reward, seed=train.VALIDATION_SEED, env=None):
        recipe = {"env": env or {"episode_days": 7}, "eval_episodes": 4}
        return {"recipe": recipe, "selection": {"seed": seed, "best_mean_reward": reward}}

    # TD3's run was scored on other episodes: left out
    cards = [("sac", 0, card(-10.0)), ("sac", 1, card(-5.0)), ("ppo", 0, card(-5.0)),
             ("td3", 0, card(-1.0, seed=123))]  # fmt: skip
    said = algorithms.best_on_validation(cards)
    assert "SAC seed 1 and PPO seed 0" in said and "TD3" not in said
    other = [*cards, ("ppo", 1, card(-7.0, env={"episode_days": 7, "penalty_per_k": 2.0}))]
    assert "no best run named" in algorithms.best_on_validation(other)
    assert "no run" in algorithms.best_on_validation([("td3", 0, card(-1.0, seed=None))])
    # runs trained at different commits: named, with the caveat that the environment may
    # have changed between them (here, every card is from one commit, or from none)
    assert "commits" not in said
    at = [(a, s, {**c, "source": {"commit": "abc", "modified": False}}) for a, s, c in cards]
    assert "commits" not in algorithms.best_on_validation(at)
    at[0] = (at[0][0], at[0][1], {**at[0][2], "source": {"commit": "def", "modified": False}})
    mixed = algorithms.best_on_validation(at)
    assert "SAC seed 1 and PPO seed 0" in mixed and "trained at 2 commits" in mixed


def test_algorithms_with_another_budget_trains_and_reads_its_own_folders(tmp_path, capsys):
    algorithms = load_benchmark("algorithms")
    ppo = train.ROOT / "agents" / "ppo.yaml"
    cmd = algorithms.command("enterprise", "ppo", 0, tmp_path / "x", 1234)
    assert cmd[cmd.index("--steps") + 1] == "1234"
    assert "--steps" not in algorithms.command("enterprise", "ppo", 0, tmp_path / "x")
    # a finished 1,234-step run, in the folder --steps 1234 gives it
    shipped = json.loads(SHIPPED["enterprise"].with_name("model_card.json").read_text())
    shipped_recipe = re.search(r"--recipe agents/(\S+)\.yaml", shipped["command"])[1]
    recipe = train.load_recipe(ppo, site="enterprise", seed=0, steps=1234)
    folder = tmp_path / algorithms.folder_name("enterprise", "ppo", 0, 1234)
    assert folder.name == "enterprise-ppo-seed0-steps1234"
    folder.mkdir()
    card = {**shipped, "recipe": algorithms.as_dict(recipe), "seed": 0, "steps": 1234}
    (folder / "model_card.json").write_text(json.dumps(card))
    args = ["--site", "enterprise", "--runs", "ppo:0", "--out", str(tmp_path), "--summary-only"]
    assert algorithms.main([*args, "--steps", "1234"]) == 0
    assert "| PPO | 0 | 1,234 |" in capsys.readouterr().out
    # at the recipe's own budget that run is not the one wanted
    assert algorithms.main(args) == 1
    assert "missing: enterprise-ppo-seed0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        algorithms.main([*args, "--steps", "0"])
    assert "--steps must be a positive number" in capsys.readouterr().err
    # the recipe's own budget is no other budget: the plain folder, no --steps
    assert folder.name != algorithms.folder_name("enterprise", "ppo", 0, None)
    assert algorithms.main([*args, "--steps", str(train.load_recipe(ppo).steps)]) == 1
    assert "5,000,000 steps, in enterprise-ppo-seed0/" in capsys.readouterr().err
    # the shipped run is reused at the budget it was trained to
    run = f"{shipped_recipe}:{shipped['seed']}"
    runs = ["--runs", run, "--steps", str(shipped["steps"]), "--out", str(tmp_path)]
    assert algorithms.main(["--site", "enterprise", *runs, "--summary-only"]) == 0
    row = f"| {shipped_recipe.upper()} | {shipped['seed']} | {shipped['steps']:,} |"
    assert row in capsys.readouterr().out


def test_algorithms_behind_the_shield_scores_each_run_as_the_controller_deploys_it(
    tmp_path, capsys
):
    from cooling.control.policy import load_policy
    from cooling.evaluate import evaluate
    from cooling.spec import load_site

    algorithms = load_benchmark("algorithms")
    shipped = json.loads(SHIPPED["enterprise"].with_name("model_card.json").read_text())
    recipe = re.search(r"--recipe agents/(\S+)\.yaml", shipped["command"])[1]
    args = ["--site", "enterprise", "--runs", f"{recipe}:{shipped['seed']}", "--steps",
            str(shipped["steps"]), "--out", str(tmp_path), "--summary-only"]  # fmt: skip
    assert algorithms.main([*args, "--behind-shield"]) == 0
    out = capsys.readouterr().out
    assert "| hottest inlet | validation behind the shield: vs rules |" in out
    assert "| --- " * 11 + "|" in out
    # the column is the policy's saving against the rules on the validation weeks, behind
    # the default shield, as `cooling evaluate --weeks validation --shield` gives it
    site = load_site("enterprise")
    policy = load_policy(SHIPPED["enterprise"], site)
    saving = {shield: evaluate(site, policy, weeks="validation", shield=shield,
                               controllers=("rules",))["cooling_saving_vs"]["rules"]
              for shield in (False, True)}  # fmt: skip
    expected = saving[True]
    assert expected < saving[False]  # the shield costs it something
    row = next(line for line in out.splitlines() if line.startswith(f"| {recipe.upper()} |"))
    assert row.endswith(f"| {expected:.1%} |")
    assert f"best behind the shield on the validation weeks: {recipe.upper()} seed" in out
    # without the option, the table is as it was
    assert algorithms.main(args) == 0
    assert "behind the shield" not in capsys.readouterr().out
    # a run whose policy does not load is told of, with "-" in its row, and the rest stands
    ppo = train.load_recipe(train.ROOT / "agents" / "ppo.yaml", site="enterprise", seed=0,
                            steps=1234)  # fmt: skip
    folder = tmp_path / algorithms.folder_name("enterprise", "ppo", 0, 1234)
    folder.mkdir()
    card = {**shipped, "recipe": algorithms.as_dict(ppo), "seed": 0, "steps": 1234}
    (folder / "model_card.json").write_text(json.dumps(card))
    bare = ["--site", "enterprise", "--runs", "ppo:0", "--steps", "1234", "--out", str(tmp_path)]
    assert algorithms.main([*bare, "--summary-only", "--behind-shield"]) == 0
    captured = capsys.readouterr()
    assert "| PPO | 0 | 1,234 |" in captured.out and captured.out.count("°C | - |") == 1
    assert "not evaluated behind the shield: enterprise-ppo-seed0" in captured.err
    assert "policy.zip: policy not found" in captured.err
    assert "best behind the shield" not in captured.out


def test_algorithms_takes_a_variant_spec_by_its_path_and_names_its_runs_by_the_spec(
    tmp_path, capsys, monkeypatch
):
    algorithms = load_benchmark("algorithms")
    variant = "envs/variants/enterprise-crah.yaml"
    assert algorithms.site_label(variant) == "enterprise-crah"
    assert algorithms.site_label("hyperscale") == "hyperscale"
    # the shipped variant run, agents/enterprise-crah-sac-seed0, is found by that name
    card = json.loads((train.ROOT / "agents/enterprise-crah-sac-seed0/model_card.json").read_text())
    args = ["--site", variant, "--runs", f"sac:{card['seed']}", "--out", str(tmp_path)]
    assert algorithms.main([*args, "--summary-only"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("enterprise-crah: ")
    assert f"| SAC | {card['seed']} | {card['steps']:,} |" in out
    # a run not trained yet would be trained by the path, into the spec's name
    assert algorithms.main([*args[:3], "ppo:7", *args[4:], "--summary-only"]) == 1
    assert "missing: enterprise-crah-ppo-seed7" in capsys.readouterr().err
    # however the path is typed, the same run: ./path, or absolute from another folder
    assert algorithms.site_argument(f"./{variant}") == variant
    monkeypatch.chdir(tmp_path)
    absolute = str(train.ROOT / variant)
    assert algorithms.site_argument(absolute) == variant
    assert algorithms.main(["--site", absolute, *args[2:], "--summary-only"]) == 0
    assert f"| SAC | {card['seed']} |" in capsys.readouterr().out
    assert algorithms.site_argument("enterprise") == "enterprise"
    for bad, said in (("envs/variants/nope.yaml", "not found"), ("nowhere", "shipped sites: "),
                      ("envs/enterprise.yaml", "give its name, --site enterprise")):  # fmt: skip
        with pytest.raises(SystemExit):
            algorithms.main(["--site", bad, "--summary-only"])
        err = capsys.readouterr().err
        assert "--site" in err and said in err


def test_algorithms_runs_any_recipe_in_agents_and_names_the_others(tmp_path, monkeypatch):
    import argparse

    algorithms = load_benchmark("algorithms")
    assert {"sac", "ppo", "td3"} <= set(algorithms.recipe_names())
    assert algorithms._runs("sac:0, ppo:2") == [("sac", 0), ("ppo", 2)]
    with pytest.raises(argparse.ArgumentTypeError, match=r"RECIPE one of .*sac.*td3"):
        algorithms._runs("sac-fast:0")
    # a variant saved beside the shipped recipes runs by its file's name
    (tmp_path / "agents").mkdir()
    for name in ("sac", "sac-fast"):
        (tmp_path / "agents" / f"{name}.yaml").write_text("algorithm: SAC\n")
    monkeypatch.setattr(algorithms, "ROOT", tmp_path)
    assert algorithms._runs("sac-fast:1") == [("sac-fast", 1)]
    with pytest.raises(argparse.ArgumentTypeError, match="one of sac, sac-fast "):
        algorithms._runs("ppo:0")


def test_curves_tabulates_and_draws_the_validation_curves_from_the_cards(tmp_path, capsys):
    curves = load_benchmark("curves")
    steps, rewards = [100, 200, 300, 400, 500, 600], [-9.0, -7.0, -5.0, -6.0, -5.5, -5.25]
    run = tmp_path / "hyperscale-sac-seed0"
    run.mkdir()
    card = {"site": "hyperscale", "selection": {"best_step": 300, "curve": {
        "steps": steps, "mean_rewards": rewards}}}  # fmt: skip
    (run / "model_card.json").write_text(json.dumps(card))
    old = tmp_path / "old-run"  # a card from before the curve
    old.mkdir()
    (old / "model_card.json").write_text(json.dumps({"site": "enterprise", "selection": {}}))
    plot = tmp_path / "curves.png"
    assert curves.main([str(run), str(old), "--plot", str(plot)]) == 0
    out, err = capsys.readouterr()
    spread = np.std(rewards[-5:], ddof=1)
    assert f"| hyperscale-sac-seed0 | 6 | 300 | 600 | -5.0 | {spread:.1f} |" in out
    assert "old-run: its model card has no validation curve" in err
    assert plot.stat().st_size > 10_000  # a drawn figure, not an empty file
    assert curves.main([str(old), "--plot", str(plot)]) == 1
    assert "no run with a validation curve" in capsys.readouterr().err


def test_train_writes_by_default_to_a_folder_named_after_the_recipe_file():
    agents = train.ROOT / "agents"
    sac = train.load_recipe(agents / "sac.yaml", site="hyperscale", seed=2)
    assert train.default_out_dir(agents / "sac.yaml", sac) == agents / "hyperscale-sac-seed2"
    # a variant of the SAC recipe does not land on the shipped SAC run
    lin = train.load_recipe(agents / "sac-lr-linear.yaml", site="hyperscale", seed=2)
    out = train.default_out_dir(agents / "sac-lr-linear.yaml", lin)
    assert lin.algorithm == "SAC" and out == agents / "hyperscale-sac-lr-linear-seed2"
    # a site given as a spec's path is named by the spec's file
    crah = train.load_recipe(agents / "sac.yaml", site="envs/variants/enterprise-crah.yaml")
    assert train.default_out_dir(agents / "sac.yaml", crah).name == "enterprise-crah-sac-seed0"
    # every shipped policy lives where its card's command writes by default
    for card_path in agents.glob("*/model_card.json"):
        card = json.loads(card_path.read_text())
        words = card["command"].split()
        if "--out" in words:
            continue
        recipe_path = train.ROOT / words[words.index("--recipe") + 1]
        recipe = train.load_recipe(recipe_path, site=card["recipe"]["site"], seed=card["seed"])
        assert train.default_out_dir(recipe_path, recipe) == card_path.parent
