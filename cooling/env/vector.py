"""A vector environment that steps the batch plant directly (no subprocesses)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from cooling.env.core import BatchCore, make_options
from cooling.spec import SiteSpec, load_site


class CoolingVectorEnv(VectorEnv):
    """``num_envs`` independent episodes of one site, stepped as one batch of plants.

    Same spaces, reward and options as :class:`~cooling.env.cooling_env.CoolingEnv`;
    ``reset(seed=s)`` seeds sub-environment i with ``s + i``, so it reproduces N single
    environments reset with those seeds and given the same actions (on the fixed weeks of
    ``mode="eval"`` or ``"validation"``, row i starts at the i-th week again, so a seeded
    reset replays the same episodes). Finished episodes
    reset in the same step (``autoreset_mode`` SAME_STEP): the returned observation
    starts the next episode and ``infos["final_obs"]`` holds the last one.
    """

    metadata: ClassVar[dict] = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, site: str | SiteSpec = "enterprise", num_envs: int = 8, **options: Any):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1 (got {num_envs})")
        spec = site if isinstance(site, SiteSpec) else load_site(site)
        self.site_spec = spec  # not `spec`: gymnasium keeps its EnvSpec there
        self.num_envs = num_envs
        self.core = BatchCore(spec, num_envs, make_options(options))
        self.setpoint_map = self.core.map
        self.observation_names = self.core.observation_names
        self.single_action_space = spaces.Box(-1.0, 1.0, (len(self.core.names),), np.float32)
        self.single_observation_space = spaces.Box(
            -10.0, 10.0, (len(self.observation_names),), np.float32
        )
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self._rngs = [seeding.np_random()[0] for _ in range(num_envs)]
        self._noise_rng = np.random.default_rng()

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        if seed is not None:
            seeds = (
                list(seed)
                if isinstance(seed, list | tuple)
                else [seed + i for i in range(self.num_envs)]
            )
            if len(seeds) != self.num_envs:
                raise ValueError(f"{len(seeds)} seeds for {self.num_envs} environments")
            self._rngs = [seeding.np_random(s)[0] for s in seeds]
            self._noise_rng = np.random.default_rng(seeds[0])
            self.core.eval_counter[:] = 0  # fixed weeks: a seeded reset replays the same episodes
        self.core.reset_rows(np.arange(self.num_envs), self._rngs)
        obs = self.core.observe(self._noise_rng)
        return obs, {"start_day": self.core.start_hour / 24.0}

    def step(self, actions):
        out = self.core.step(actions)
        truncated = out.pop("truncated")
        rewards = out.pop("reward")
        obs = self.core.observe(self._noise_rng)
        infos: dict[str, Any] = out
        if truncated.any():
            done = np.flatnonzero(truncated)
            infos["final_obs"] = obs.copy()
            infos["_final_obs"] = truncated.copy()
            self.core.reset_rows(done, [self._rngs[i] for i in done])
            obs = self.core.observe(self._noise_rng)
        terminated = np.zeros(self.num_envs, dtype=bool)
        return obs, rewards, terminated, truncated, infos
