"""An adapter that stable-baselines3 accepts as a ``VecEnv``.

It wraps :class:`~cooling.env.vector.CoolingVectorEnv` (which already resets finished
episodes in the same step, as stable-baselines3 expects) and turns the dict-of-arrays
infos into its list of dicts, with ``terminal_observation`` and ``TimeLimit.truncated``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from cooling.env.vector import CoolingVectorEnv


class SB3VecEnv(VecEnv):
    """``replay_seed``: every ``reset()`` without a pending ``seed()`` uses this seed, so
    on the fixed weeks each reset replays the same episodes (the validation episodes that
    score every checkpoint; stable-baselines3's ``EvalCallback`` resets unseeded)."""

    def __init__(self, venv: CoolingVectorEnv, *, replay_seed: int | None = None):
        self.venv = venv
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._actions: np.ndarray | None = None
        self._seed: int | None = None
        self.replay_seed = replay_seed

    def reset(self):
        obs, _ = self.venv.reset(seed=self.replay_seed if self._seed is None else self._seed)
        self._seed = None
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        obs, rewards, terminated, truncated, infos = self.venv.step(self._actions)
        dones = terminated | truncated
        keys = [k for k in infos if not k.startswith("_") and k != "final_obs"]
        out: list[dict[str, Any]] = []
        for i in range(self.num_envs):
            info = {k: float(infos[k][i]) for k in keys}
            if dones[i]:
                info["terminal_observation"] = infos["final_obs"][i]
                info["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            out.append(info)
        return obs, rewards.astype(np.float32), dones, out

    def seed(self, seed: int | None = None):
        self._seed = seed
        return [None if seed is None else seed + i for i in range(self.num_envs)]

    def close(self) -> None:
        pass

    def get_attr(self, attr_name: str, indices=None):
        return [getattr(self.venv, attr_name) for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *args, indices=None, **kwargs):
        return [getattr(self.venv, method_name)(*args, **kwargs) for _ in self._indices(indices)]

    def env_is_wrapped(self, wrapper_class, indices=None):
        return [False for _ in self._indices(indices)]

    def _indices(self, indices):
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, int):
            return [indices]
        return indices
