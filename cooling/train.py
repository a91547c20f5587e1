"""Training RL agents with stable-baselines3 (the only module that imports it).

    cooling train --recipe agents/RECIPE.yaml [--site SITE] [--seed S] [--steps N] [--out DIR]

A recipe (YAML, validated, unknown keys refused) names the algorithm (SAC, PPO or TD3),
its hyperparameters (checked against the algorithm's own constructor), the site, the
environment options, the step budget, the number of parallel environments and the
seed. Training steps the batch vector environment, shows a progress bar, writes
TensorBoard logs (``OUT/tensorboard``), evaluates on the validation weeks every
``eval_every_steps`` and keeps the best checkpoint (by mean episode reward there: the
held-out weeks, where every reported figure comes from, never choose the checkpoint;
neither set is ever trained on). It ends by writing, in the output
folder: ``policy.zip`` (the best checkpoint), ``actor.pt`` (the deterministic actor's
layers as plain tensors, loadable with torch alone: ``cooling.control.policy.TorchActor``) and
``model_card.json`` (site, policy path, recipe, seed, steps, wall time, library
versions, the checkpoint selection, evaluation on the held-out weeks and the exact
command).
"""

from __future__ import annotations

import inspect
import json
import math
import platform
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import ConfigDict, Field, ValidationError
from pydantic.dataclasses import dataclass

from cooling.env.core import VALIDATION_WEEK_START_DAYS, EnvOptions, make_options
from cooling.env.sb3 import SB3VecEnv
from cooling.env.vector import CoolingVectorEnv
from cooling.features import OBSERVATION_VERSION
from cooling.spec import ENVS_DIR, load_site, read_yaml

ROOT = ENVS_DIR.parent
#: The seed of the validation episodes (their load noise): every checkpoint of every run,
#: whatever its recipe's seed, is scored on the same episodes, so their rewards compare.
VALIDATION_SEED = 10_000
ALGORITHMS = ("SAC", "PPO", "TD3")


class RecipeError(ValueError):
    """A training recipe is invalid; the message says where and why."""


@dataclass(config=ConfigDict(extra="forbid", frozen=True))
class Recipe:
    """A training recipe, field by field."""

    algorithm: str  # SAC, PPO or TD3
    site: str = "enterprise"  # shipped site name or path to a spec
    seed: int = 0
    steps: int = Field(100_000, ge=1)  # environment steps in total (all envs)
    num_envs: int = Field(8, ge=1, le=4096)
    env: dict[str, Any] = Field(default_factory=dict)  # EnvOptions
    hyperparameters: dict[str, Any] = Field(default_factory=dict)  # the algorithm's kwargs
    net_arch: list[int] = Field(default_factory=lambda: [64, 64])
    eval_every_steps: int = Field(20_000, ge=1)
    # episodes per validation evaluation: a multiple of the four validation weeks, so every
    # evaluation runs each of them equally often and checkpoints compare like with like
    eval_episodes: int = Field(4, ge=4, le=64, multiple_of=4)
    torch_threads: int = Field(1, ge=1, le=64)  # 1: reproducible, and runs side by side
    evaluate_baselines: bool = True  # card evaluation = `cooling evaluate --json` (slow)
    # exploration noise added to the actions of an off-policy algorithm (TD3 has none of
    # its own): None, "normal" (this standard deviation, in [-1, 1] action units) or
    # "ornstein-uhlenbeck" (sigma = noise_std, SB3's theta 0.15 and dt 0.01: correlated,
    # its spread grows towards about 1.8 sigma); rl-baselines3-zoo's noise_type/noise_std
    noise_type: str | None = None
    noise_std: float = Field(0.1, gt=0.0, le=1.0)


def _algorithm_class(name: str):
    import stable_baselines3 as sb3

    return getattr(sb3, name)


#: Hyperparameters that may be a schedule over training, written as rl-baselines3-zoo does:
#: "lin_3e-4" falls linearly from 3e-4 at the start to 0 at the end.
SCHEDULED = ("learning_rate", "clip_range")


def _schedule(text: str) -> Callable[[float], float]:
    """A zoo-style schedule ("lin_X") as SB3's callable of the progress remaining (1 -> 0)."""
    kind, _, value = text.partition("_")
    try:
        start = float(value)
    except ValueError:
        start = math.nan
    if kind != "lin" or not math.isfinite(start) or start <= 0:
        raise ValueError(
            f"expected a number or a linear schedule 'lin_X' with X > 0, e.g. lin_3e-4 "
            f"(got {text!r})"
        )

    def linear(progress_remaining: float) -> float:
        return progress_remaining * start

    return linear


#: Hyperparameters of the policy network rather than the algorithm (SB3's policy_kwargs),
#: by algorithm: PPO's initial log standard deviation of its Gaussian actions (SB3's
#: default 0: a standard deviation of 1 in the [-1, 1] action units, so that an action at a
#: bound is hard to hold while it explores). SAC's and TD3's need use_sde, which the
#: deployed actor does not support.
POLICY_HYPERPARAMETERS = {"PPO": {"log_std_init": (-5.0, 1.0)}}


def _constructor_kwargs(recipe: Recipe) -> dict[str, Any]:
    """The recipe's hyperparameters for the algorithm, with its schedules made callables."""
    policy_keys = POLICY_HYPERPARAMETERS.get(recipe.algorithm, {})
    return {
        k: _schedule(v) if k in SCHEDULED and isinstance(v, str) else v
        for k, v in recipe.hyperparameters.items()
        if k not in policy_keys
    }


def _policy_kwargs(recipe: Recipe) -> dict[str, Any]:
    """SB3's policy_kwargs: the network's layers and the recipe's policy hyperparameters."""
    policy_keys = POLICY_HYPERPARAMETERS.get(recipe.algorithm, {})
    extra = {k: v for k, v in recipe.hyperparameters.items() if k in policy_keys}
    return {"net_arch": list(recipe.net_arch), **extra}


#: Constructor arguments a recipe may not set (the trainer sets them).
_RESERVED = {"policy", "env", "seed", "tensorboard_log", "verbose", "policy_kwargs", "device",
             "action_noise"}  # fmt: skip
NOISE_TYPES = ("normal", "ornstein-uhlenbeck")


def load_recipe(path: str | Path, **overrides: Any) -> Recipe:
    """Load and validate a recipe; ``overrides`` (site, seed, steps) replace its fields."""
    path = Path(path)
    data = read_yaml(path, RecipeError, "recipe")
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe is a mapping of keys")
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        recipe = Recipe(**data)
    except ValidationError as exc:
        allowed = ", ".join(Recipe.__dataclass_fields__)
        lines = []
        for e in exc.errors():
            key = ".".join(map(str, e["loc"]))
            if e["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
                lines.append(f"  {key}: unknown key; allowed keys: {allowed}")
            else:
                lines.append(f"  {key}: {e['msg']} (got {e.get('input')!r})")
        raise RecipeError(f"{path}: invalid recipe\n" + "\n".join(lines)) from None
    except TypeError as exc:
        allowed = ", ".join(Recipe.__dataclass_fields__)
        raise RecipeError(f"{path}: {exc}; allowed keys: {allowed}") from None
    if recipe.algorithm not in ALGORITHMS:
        raise RecipeError(
            f"{path}: algorithm: unknown algorithm {recipe.algorithm!r}; "
            f"allowed: {', '.join(ALGORITHMS)}"
        )
    if recipe.hyperparameters.get("use_sde"):
        raise RecipeError(
            f"{path}: hyperparameters: use_sde is not supported: the deployed actor is "
            "exported as a plain deterministic network (leave use_sde out)"
        )
    if recipe.noise_type is not None:
        if recipe.noise_type not in NOISE_TYPES:
            raise RecipeError(
                f"{path}: noise_type: unknown {recipe.noise_type!r}; allowed: "
                f"{', '.join(NOISE_TYPES)} (or leave it out)"
            )
        if recipe.algorithm == "PPO":
            raise RecipeError(
                f"{path}: noise_type: PPO explores with its own stochastic policy; action "
                "noise is for the off-policy algorithms (SAC, TD3)"
            )
    for key in SCHEDULED:
        value = recipe.hyperparameters.get(key)
        if isinstance(value, str):
            try:
                _schedule(value)
            except ValueError as exc:
                raise RecipeError(f"{path}: hyperparameters: {key}: {exc}") from None
    allowed_hp = set(inspect.signature(_algorithm_class(recipe.algorithm).__init__).parameters)
    allowed_hp -= _RESERVED | {"self", "_init_setup_model"}
    policy_hp = POLICY_HYPERPARAMETERS.get(recipe.algorithm, {})
    allowed_hp |= set(policy_hp)
    for key, (low, high) in policy_hp.items():
        value = recipe.hyperparameters.get(key)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise RecipeError(
                f"{path}: hyperparameters: {key}: expected a number in [{low:g}, {high:g}] "
                f"(got {value!r})"
            )
    unknown = sorted(set(recipe.hyperparameters) - allowed_hp)
    if unknown:
        raise RecipeError(
            f"{path}: hyperparameters: unknown for {recipe.algorithm}: {unknown}; "
            f"allowed: {', '.join(sorted(allowed_hp))}"
        )
    if "mode" in recipe.env:
        raise RecipeError(
            f"{path}: env: mode is the trainer's (it learns on training weeks, picks the "
            "checkpoint on the validation weeks and reports on the held-out ones): leave it out"
        )
    try:
        make_options(recipe.env)
    except (ValueError, TypeError) as exc:
        raise RecipeError(f"{path}: env: {exc}") from None
    load_site(recipe.site)  # a SpecError names an unknown site
    return recipe


def _actor_layers(model: Any) -> list[torch.nn.Module]:
    """The deterministic actor of an SB3 model as its layers, input to action."""
    from stable_baselines3 import PPO, SAC, TD3

    policy = model.policy
    if isinstance(model, SAC):
        if policy.actor.use_sde:
            raise ValueError("actor export: SAC with use_sde is not supported")
        extractor = policy.actor.features_extractor
        layers = [*policy.actor.latent_pi, policy.actor.mu, torch.nn.Tanh()]
    elif isinstance(model, TD3):
        extractor = policy.actor.features_extractor
        layers = list(policy.actor.mu)  # Linear/activation ... Linear, Tanh
    elif isinstance(model, PPO):
        if policy.use_sde or policy.squash_output:
            raise ValueError("actor export: PPO with use_sde or squash_output is not supported")
        extractor = policy.pi_features_extractor
        layers = [*policy.mlp_extractor.policy_net, policy.action_net, torch.nn.Hardtanh()]
    else:
        raise ValueError(f"actor export: unsupported algorithm {type(model).__name__}")
    if type(extractor).__name__ != "FlattenExtractor":
        raise ValueError(f"actor export: unsupported features extractor {type(extractor)}")
    return layers


def actor_payload(model: Any) -> dict[str, Any]:
    """The actor as plain tensors and names (:data:`cooling.control.policy.ACTOR_FORMAT`).

    Hidden layers are Linear + one activation (ReLU or Tanh); the output is squashed by
    tanh (SAC, TD3) or clipped to [-1, 1] (PPO). Checked against SB3's own deterministic
    prediction before it is returned, so an actor file never disagrees with its policy.
    """
    from cooling.control.policy import ACTOR_FORMAT, build_actor

    model.policy.to("cpu").eval()
    layers = _actor_layers(model)
    weights, biases, activations = [], [], []
    for layer in layers:
        if isinstance(layer, torch.nn.Linear):
            weights.append(layer.weight.detach().clone())
            biases.append(layer.bias.detach().clone())
        elif isinstance(layer, torch.nn.ReLU | torch.nn.Tanh | torch.nn.Hardtanh):
            activations.append(type(layer).__name__.lower())
        else:
            raise ValueError(f"actor export: unsupported layer {layer}")
    hidden, output = activations[:-1], activations[-1]
    if len(set(hidden)) > 1 or len(hidden) != len(weights) - 1:
        raise ValueError(f"actor export: unsupported layer sequence {layers}")
    payload = {
        "format": ACTOR_FORMAT,
        "observation_size": int(weights[0].shape[1]),
        "action_size": int(weights[-1].shape[0]),
        "hidden_activation": hidden[0] if hidden else "relu",
        "output": "tanh" if output == "tanh" else "clip",
        "weights": weights,
        "biases": biases,
    }
    # the exported network must act exactly as SB3's deterministic policy does
    generator = torch.Generator().manual_seed(0)
    probe = 3.0 * torch.randn((256, payload["observation_size"]), generator=generator)
    with torch.no_grad():
        expected = torch.clamp(model.policy._predict(probe, deterministic=True), -1.0, 1.0)
        got = build_actor(payload)(probe)
    if not torch.allclose(got, expected, atol=1e-5):
        raise ValueError("actor export: the exported network does not reproduce the policy")
    return payload


def export_actor(model: Any, path: Path) -> None:
    """Save the deterministic actor (tensors only: ``torch.load(weights_only=True)``)."""
    torch.save(actor_payload(model), str(path))


def load_model(path: str | Path) -> Any:
    """An SB3 ``policy.zip`` of any supported algorithm (the model card's, else each tried)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: policy not found")
    card = path.with_name("model_card.json")
    names = list(ALGORITHMS)
    if card.is_file():
        algorithm = json.loads(card.read_text()).get("algorithm")
        if algorithm in names:
            names = [algorithm]
    reasons = []
    for name in names:
        try:
            return _algorithm_class(name).load(path, device="cpu")
        except Exception as exc:  # SB3 raises several kinds for the wrong class or a bad file
            reasons.append(f"{name}: {type(exc).__name__}: {exc}")
    raise ValueError(
        f"{path}: not a stable-baselines3 policy of {', '.join(names)} ({'; '.join(reasons)})"
    )


def evaluate_policy_on_heldout(model: Any, recipe: Recipe, episodes: int) -> dict[str, float]:
    """The policy on the held-out weeks (deterministic): energy, violations, reward."""
    venv = CoolingVectorEnv(recipe.site, num_envs=episodes, **week_options(recipe, "eval"))
    obs, _ = venv.reset(seed=recipe.seed)
    totals = {"facility_kwh": 0.0, "cooling_kwh": 0.0, "it_kwh": 0.0, "reward": 0.0}
    above = 0
    steps = 0
    while True:
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, _, truncated, info = venv.step(action)
        totals["reward"] += float(reward.sum())
        for k in ("facility_kwh", "cooling_kwh", "it_kwh"):
            totals[k] += float(info[k].sum())
        above += int((info["cost"] > 0).sum())
        steps += episodes
        if truncated.all():
            break
    return {
        "episodes": episodes,
        "pue": totals["facility_kwh"] / totals["it_kwh"],
        "cooling_kwh": totals["cooling_kwh"],
        "facility_kwh": totals["facility_kwh"],
        "mean_episode_reward": totals["reward"] / episodes,
        "violation_step_fraction": above / steps,
    }


def train(
    recipe: Recipe, out_dir: Path, command: str, progress: bool = True, jobs: int = 1
) -> dict:
    """Train per the recipe; write policy, actor and model card into ``out_dir``.

    ``jobs`` > 1 runs the final evaluation's baselines in that many worker processes (as
    :func:`cooling.evaluate.evaluate`: the same figures; a script calling this needs an
    ``if __name__ == "__main__":`` guard)."""
    from stable_baselines3.common.callbacks import EvalCallback
    from stable_baselines3.common.vec_env import VecMonitor

    out_dir.mkdir(parents=True, exist_ok=True)
    source = _source()  # before training: the code as it was when the run started
    algo = _algorithm_class(recipe.algorithm)
    venv = VecMonitor(SB3VecEnv(CoolingVectorEnv(recipe.site, recipe.num_envs, **recipe.env)))
    venv.seed(recipe.seed)
    eval_env = _validation_env(recipe)
    try:
        import tensorboard  # noqa: F401  (a dependency; a broken install should not stop training)

        tb_dir: str | None = str(out_dir / "tensorboard")
    except ImportError as e:
        print(f"warning: no TensorBoard logs ({e}); pip install tensorboard", file=sys.stderr)
        tb_dir = None
    torch.set_num_threads(recipe.torch_threads)
    torch.manual_seed(recipe.seed)
    noise = _action_noise(recipe, venv.action_space.shape[0])
    extra: dict[str, Any] = {"action_noise": noise} if noise is not None else {}
    model = algo(
        "MlpPolicy",
        venv,
        seed=recipe.seed,
        verbose=0,
        tensorboard_log=tb_dir,
        device="cpu",
        policy_kwargs=_policy_kwargs(recipe),
        **_constructor_kwargs(recipe),
        **extra,
    )
    callback = EvalCallback(
        eval_env,
        n_eval_episodes=recipe.eval_episodes,
        eval_freq=max(recipe.eval_every_steps // recipe.num_envs, 1),
        best_model_save_path=str(out_dir / "checkpoints"),
        log_path=str(out_dir / "checkpoints"),  # evaluations.npz: the selection's record
        deterministic=True,
        verbose=0,
    )
    for stale in ("best_model.zip", "evaluations.npz"):  # an earlier run's, in this OUT
        (out_dir / "checkpoints" / stale).unlink(missing_ok=True)
    start = time.perf_counter()
    model.learn(total_timesteps=recipe.steps, callback=callback, progress_bar=progress)
    wall = time.perf_counter() - start
    best = out_dir / "checkpoints" / "best_model.zip"
    if best.is_file():
        model = algo.load(best, device="cpu")
    policy_path = out_dir / "policy.zip"
    model.save(policy_path)
    export_actor(model, out_dir / "actor.pt")
    first = {"observation_size": int(model.observation_space.shape[0]),
             "observation_version": OBSERVATION_VERSION}  # fmt: skip
    (out_dir / "model_card.json").write_text(json.dumps(first) + "\n")
    if recipe.evaluate_baselines:
        from cooling.control.policy import load_policy
        from cooling.evaluate import evaluate

        spec = load_site(recipe.site)
        evaluation = evaluate(spec, load_policy(policy_path, spec), jobs=jobs)
    else:
        evaluation = evaluate_policy_on_heldout(model, recipe, recipe.eval_episodes)
    card = {
        "site": recipe.site,
        "policy": _relative(policy_path),
        "actor": _relative(out_dir / "actor.pt"),
        "algorithm": recipe.algorithm,
        "recipe": {k: getattr(recipe, k) for k in Recipe.__dataclass_fields__},
        "seed": recipe.seed,
        "steps": recipe.steps,
        "wall_time_s": round(wall, 1),
        "observation_size": int(model.observation_space.shape[0]),
        "observation_version": OBSERVATION_VERSION,
        "action_size": int(model.action_space.shape[0]),
        "versions": _versions(),
        "selection": _selection(callback),
        "evaluation": evaluation,
        "command": command,
        "source": source,
        "tensorboard": _relative(Path(tb_dir)) if tb_dir else None,
    }
    (out_dir / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def _validation_env(recipe: Recipe) -> Any:
    """The validation episodes that every checkpoint of every run is scored on."""
    from stable_baselines3.common.vec_env import VecMonitor

    validation = CoolingVectorEnv(
        recipe.site, recipe.eval_episodes, **week_options(recipe, "validation")
    )
    # SB3's callback resets the evaluation environment unseeded, which drew new load noise
    # each time and, on the fixed weeks, put the weeks in other rows; reseeded at every
    # reset, each evaluation replays the same episodes (common random numbers), so
    # checkpoints, and runs, compare by their actions alone, and a checkpoint's score is
    # reproducible: the validation weeks reset with VALIDATION_SEED
    return VecMonitor(SB3VecEnv(validation, replay_seed=VALIDATION_SEED))


def validation_reward(policy: str | Path) -> float:
    """A run's policy scored again on the validation episodes, as training scores its
    checkpoints (the recipe in the model card beside it: its site, options and episode
    count), with today's plant, traces and reward: to compare a run trained before a change
    to them with one trained after it."""
    from stable_baselines3.common.evaluation import evaluate_policy

    policy = Path(policy)
    card = policy.with_name("model_card.json")
    if not card.is_file():
        raise FileNotFoundError(f"{card}: no model card beside the policy (it names the recipe)")
    recipe = Recipe(**json.loads(card.read_text())["recipe"])
    rewards, _ = evaluate_policy(
        load_model(policy),
        _validation_env(recipe),
        n_eval_episodes=recipe.eval_episodes,
        deterministic=True,
        return_episode_rewards=True,
    )
    return float(np.mean(rewards))


def default_out_dir(recipe_path: Path, recipe: Recipe) -> Path:
    """Where ``cooling train`` writes without ``--out``: ``agents/SITE-RECIPE-seedS``, named
    after the recipe's file (``agents/sac.yaml``: ``agents/hyperscale-sac-seed2``), so that
    a variant of a recipe (``agents/sac-lr-linear.yaml``) never overwrites the shipped run
    of its algorithm."""
    return ROOT / "agents" / f"{Path(recipe.site).stem}-{recipe_path.stem}-seed{recipe.seed}"


def week_options(recipe: Recipe, mode: str) -> dict[str, Any]:
    """The recipe's environment options on fixed weeks: ``"validation"`` for the episodes
    that choose the best checkpoint, ``"eval"`` for the held-out ones the card reports."""
    episode_days = min(recipe.env.get("episode_days", EnvOptions.episode_days), 7.0)
    return {**recipe.env, "mode": mode, "episode_days": episode_days}


def _selection(callback: Any) -> dict[str, Any]:
    """How the shipped checkpoint was chosen, from the evaluation callback's record."""
    means = [float(np.mean(r)) for r in callback.evaluations_results]
    steps = [int(t) for t in callback.evaluations_timesteps]
    best = int(np.argmax(means)) if means else None  # SB3 keeps the first of equal bests
    return {
        "on": "validation weeks" if means else "none: no evaluation ran, the final model",
        "start_days": list(VALIDATION_WEEK_START_DAYS),
        "seed": VALIDATION_SEED,  # the same episodes at every evaluation, in every run
        "evaluations": len(means),
        "best_step": steps[best] if best is not None else None,
        "best_mean_reward": round(means[best], 4) if best is not None else None,
        # the learning curve on those episodes, every evaluation: the record behind the
        # choice ships with the policy (checkpoints/ and tensorboard/ stay local)
        "curve": {"steps": steps, "mean_rewards": [round(m, 4) for m in means]},
    }


def _action_noise(recipe: Recipe, n_actions: int) -> Any:
    """The recipe's exploration noise as an SB3 ``ActionNoise`` (None: none)."""
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

    if recipe.noise_type is None:
        return None
    cls = NormalActionNoise if recipe.noise_type == "normal" else OrnsteinUhlenbeckActionNoise
    return cls(np.zeros(n_actions), np.full(n_actions, recipe.noise_std))


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path.resolve())


def _source() -> dict[str, Any] | None:
    """The git commit of the code that trained, and whether the code, the site specs or
    the recipes differed from it (None outside a git checkout)."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(["git", "--no-optional-locks", "-C", str(ROOT), *args],
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            raise OSError(done.stderr.strip())
        return done.stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != ROOT.resolve():
            return None  # installed inside another repository: its commit is not ours
        commit = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--", "cooling", "envs", "agents/*.yaml")
    except OSError:  # no git, or not a checkout (an installed package)
        return None
    return {"commit": commit, "modified": bool(changed)}


def _versions() -> dict[str, str]:
    import gymnasium
    import stable_baselines3

    import cooling

    return {
        "python": platform.python_version(),
        "dc-cooling": cooling.__version__,
        "numpy": np.__version__,
        "torch": torch.__version__,
        "gymnasium": gymnasium.__version__,
        "stable-baselines3": stable_baselines3.__version__,
    }


def command_line(argv: list[str] | None = None) -> str:
    """The exact command that is running, for the model card."""
    args = sys.argv[1:] if argv is None else argv
    return "cooling " + " ".join(shlex.quote(a) for a in args)
