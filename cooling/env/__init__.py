"""Gymnasium environments: one versioned id per shipped site (``cooling/Enterprise-v1``).

Importing :mod:`cooling.env` registers them; ``gymnasium.make("cooling/Hyperscale-v1")``
then works. ``gymnasium.make("cooling.env:cooling/Hyperscale-v1")`` imports it for you.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

from cooling.env.cooling_env import CoolingEnv
from cooling.env.vector import CoolingVectorEnv
from cooling.spec import site_names

__all__ = ["CoolingEnv", "CoolingVectorEnv", "env_id", "register_envs"]


def env_id(site: str, version: int = 1) -> str:
    """The registered id of a shipped site: ``enterprise`` → ``cooling/Enterprise-v1``."""
    return f"cooling/{site.capitalize()}-v{version}"


def register_envs() -> list[str]:
    ids = []
    for site in site_names():
        eid = env_id(site)
        if eid not in registry:
            register(
                id=eid,
                entry_point="cooling.env.cooling_env:CoolingEnv",
                kwargs={"site": site},
                vector_entry_point="cooling.env.vector:CoolingVectorEnv",
            )
        ids.append(eid)
    return ids


register_envs()
