"""Benchmarks: plant steps per second and peak memory (``cooling bench``).

Figures, not tests: each batch size is timed over enough steps to last about a second
after a warm-up (so compilation is not counted), on one core (the kernel is serial).
"""

from __future__ import annotations

import resource
import time

import numpy as np

from cooling.plant import plant as plantmod
from cooling.simulation import make_traces
from cooling.spec import load_site

BATCHES = (1, 64, 4096)


def plant_steps_per_s(site: str = "enterprise", batch: int = 1, seconds: float = 1.0) -> float:
    """Plant-steps per second (plants × steps / wall time) of ``plant.step`` at ``batch``."""
    spec = load_site(site)
    params = plantmod.params_from_spec(spec).repeat(batch)
    n_traces = 288  # one day of 5-minute disturbances, cycled
    traces = make_traces(spec, np.full(batch, 24.0 * 150), n_traces, np.arange(batch))
    disturbances = [traces.at(k) for k in range(n_traces)]
    rng = np.random.default_rng(0)
    lo = np.array([6.0, 16.0, 18.0, 0.4, 0.0])
    hi = np.array([16.0, 25.0, 32.0, 1.0, 1.0])
    drawn = [rng.uniform(lo, hi, size=(batch, 5)) for _ in range(n_traces)]
    airflow = np.ones((batch, 1))  # the design CRAH airflow ratio
    setpoints = [plantmod.Setpoints(np.hstack([d, airflow])) for d in drawn]
    state = plantmod.initial_state(params, setpoints[0], disturbances[0], warmup_steps=2)
    step = plantmod.step
    k = 0
    steps = 0
    start = time.perf_counter()
    while True:
        for _ in range(max(1, 1000 // batch)):
            state, _ = step(state, setpoints[k], disturbances[k], params)
            k = (k + 1) % n_traces
            steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps * batch / elapsed


def env_steps_per_s(site: str = "enterprise", seconds: float = 1.0) -> float:
    """Steps per second of ``gymnasium.make`` then ``step`` with (pre-drawn) random actions."""
    import gymnasium

    import cooling.env  # noqa: F401  (registers the ids)
    from cooling.env import env_id

    env = gymnasium.make(env_id(site))
    env.reset(seed=0)
    # random actions drawn up front: the figure is the environment's, not the sampler's
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (1024, *env.action_space.shape)).astype(np.float32)
    for k in range(50):  # warm-up (first calls, caches)
        env.step(actions[k])
    env.reset(seed=0)
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(200):
            _, _, terminated, truncated, _ = env.step(actions[steps % 1024])
            steps += 1
            if terminated or truncated:
                env.reset()
    return steps / (time.perf_counter() - start)


def vector_env_steps_per_s(site: str = "enterprise", n: int = 4096, seconds: float = 1.0):
    """Environment-steps per second (envs × steps / time) of the vector environment."""
    from cooling.env import CoolingVectorEnv

    venv = CoolingVectorEnv(site, num_envs=n)
    venv.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (16, *venv.action_space.shape)).astype(np.float32)
    venv.step(actions[0])  # compile
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        venv.step(actions[steps % 16])
        steps += 1
    return steps * n / (time.perf_counter() - start)


def peak_rss_mb() -> float:
    """Peak resident memory of this process [MB]."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(seconds: float = 1.0) -> dict:
    """All benchmark figures, as ``cooling bench --json`` prints them."""
    return {
        "plant_steps_per_s": {
            str(b): round(plant_steps_per_s(batch=b, seconds=seconds)) for b in BATCHES
        },
        "env_steps_per_s": {
            "single": round(env_steps_per_s(seconds=seconds)),
            "vector_4096": round(vector_env_steps_per_s(seconds=seconds)),
        },
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
