"""Training RL agents with stable-baselines3 (the only module that imports it).

    cooling train --recipe agents/RECIPE.yaml [--site SITE] [--seed S] [--steps N] [--out DIR]

A recipe (YAML, validated, unknown keys refused) names the algorithm (SAC, PPO or TD3),
its hyperparameters (checked against the algorithm's own constructor), the site, the
environment options, the step budget, the number of parallel environments and the
seed. Training steps the batch vector environment, shows a progress bar, writes
TensorBoard logs (when tensorboard is installed), evaluates on the held-out weeks every
``eval_every_steps`` and keeps the best checkpoint. It ends by writing, in the output
folder: ``policy.zip`` (the best checkpoint), ``actor.pt`` (the deterministic actor as
TorchScript, loadable with torch alone: ``cooling.control.policy.TorchActor``) and
``model_card.json`` (site, policy path, recipe, seed, steps, wall time, library
versions, evaluation and the exact command).
"""

from __future__ import annotations

import inspect
import json
import platform
import shlex
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import ConfigDict, Field, ValidationError
from pydantic.dataclasses import dataclass

from cooling.env.core import EnvOptions, make_options
from cooling.env.sb3 import SB3VecEnv
from cooling.env.vector import CoolingVectorEnv
from cooling.spec import ENVS_DIR, load_site, read_yaml

ROOT = ENVS_DIR.parent
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
    eval_episodes: int = Field(4, ge=1)
    torch_threads: int = Field(1, ge=1, le=64)  # 1: reproducible, and runs side by side
    evaluate_baselines: bool = True  # card evaluation = `cooling evaluate --json` (slow)


def _algorithm_class(name: str):
    import stable_baselines3 as sb3

    return getattr(sb3, name)


#: Constructor arguments a recipe may not set (the trainer sets them).
_RESERVED = {"policy", "env", "seed", "tensorboard_log", "verbose", "policy_kwargs", "device"}


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
    allowed_hp = set(inspect.signature(_algorithm_class(recipe.algorithm).__init__).parameters)
    allowed_hp -= _RESERVED | {"self", "_init_setup_model"}
    unknown = sorted(set(recipe.hyperparameters) - allowed_hp)
    if unknown:
        raise RecipeError(
            f"{path}: hyperparameters: unknown for {recipe.algorithm}: {unknown}; "
            f"allowed: {', '.join(sorted(allowed_hp))}"
        )
    try:
        make_options(recipe.env)
    except (ValueError, TypeError) as exc:
        raise RecipeError(f"{path}: env: {exc}") from None
    load_site(recipe.site)  # a SpecError names an unknown site
    return recipe


class _Actor(torch.nn.Module):
    """The deterministic actor of an SB3 policy, as a plain torch module."""

    def __init__(self, policy: Any):
        super().__init__()
        self.policy = policy

    def forward(self, observation: torch.Tensor) -> torch.Tensor:
        return torch.clamp(self.policy._predict(observation, deterministic=True), -1.0, 1.0)


def export_actor(model: Any, path: Path) -> None:
    """Save the deterministic actor as TorchScript (no SB3 or gymnasium needed to load)."""
    policy = model.policy.to("cpu").eval()
    n_obs = model.observation_space.shape[0]
    example = torch.zeros((1, n_obs), dtype=torch.float32)
    with torch.no_grad(), warnings.catch_warnings():
        # tracing SB3's distributions warns about its argument checks; the traced actor
        # is checked against the SB3 policy in the tests
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(_Actor(policy), example)
    traced.save(str(path))


def evaluate_policy_on_heldout(model: Any, recipe: Recipe, episodes: int) -> dict[str, float]:
    """The policy on the held-out weeks (deterministic): energy, violations, reward."""
    options = {
        **recipe.env,
        "mode": "eval",
        "episode_days": min(recipe.env.get("episode_days", 7), 7),
    }
    venv = CoolingVectorEnv(recipe.site, num_envs=episodes, **options)
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


def train(recipe: Recipe, out_dir: Path, command: str, progress: bool = True) -> dict:
    """Train per the recipe; write policy, actor and model card into ``out_dir``."""
    from stable_baselines3.common.callbacks import EvalCallback
    from stable_baselines3.common.vec_env import VecMonitor

    out_dir.mkdir(parents=True, exist_ok=True)
    algo = _algorithm_class(recipe.algorithm)
    options: EnvOptions = make_options(recipe.env)
    venv = VecMonitor(SB3VecEnv(CoolingVectorEnv(recipe.site, recipe.num_envs, **recipe.env)))
    venv.seed(recipe.seed)
    eval_opts = {**recipe.env, "mode": "eval", "episode_days": min(options.episode_days, 7.0)}
    eval_env = VecMonitor(
        SB3VecEnv(CoolingVectorEnv(recipe.site, recipe.eval_episodes, **eval_opts))
    )
    eval_env.seed(recipe.seed + 10_000)
    try:
        import tensorboard  # noqa: F401

        tb_dir: str | None = str(out_dir / "tensorboard")
    except ImportError:
        tb_dir = None
    torch.set_num_threads(recipe.torch_threads)
    torch.manual_seed(recipe.seed)
    model = algo(
        "MlpPolicy",
        venv,
        seed=recipe.seed,
        verbose=0,
        tensorboard_log=tb_dir,
        device="cpu",
        policy_kwargs={"net_arch": list(recipe.net_arch)},
        **recipe.hyperparameters,
    )
    callback = EvalCallback(
        eval_env,
        n_eval_episodes=recipe.eval_episodes,
        eval_freq=max(recipe.eval_every_steps // recipe.num_envs, 1),
        best_model_save_path=str(out_dir / "checkpoints"),
        deterministic=True,
        verbose=0,
    )
    start = time.perf_counter()
    model.learn(total_timesteps=recipe.steps, callback=callback, progress_bar=progress)
    wall = time.perf_counter() - start
    best = out_dir / "checkpoints" / "best_model.zip"
    if best.is_file():
        model = algo.load(best, device="cpu")
    policy_path = out_dir / "policy.zip"
    model.save(policy_path)
    export_actor(model, out_dir / "actor.pt")
    (out_dir / "model_card.json").write_text(
        json.dumps({"observation_size": int(model.observation_space.shape[0])}) + "\n"
    )
    if recipe.evaluate_baselines:
        from cooling.control.policy import load_policy
        from cooling.evaluate import evaluate

        spec = load_site(recipe.site)
        evaluation = evaluate(spec, load_policy(policy_path, spec))
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
        "action_size": int(model.action_space.shape[0]),
        "versions": _versions(),
        "evaluation": evaluation,
        "command": command,
    }
    (out_dir / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path.resolve())


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
