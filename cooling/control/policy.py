"""Trained policies for deployment: loaded with torch alone.

A policy trained by :mod:`cooling.train` ships as ``actor.pt``, its deterministic actor
exported as TorchScript: observations (float32, the environment's features) in, actions
in [-1, 1] out. :class:`TorchActor` loads and runs it without stable-baselines3 or
gymnasium, so a deployed controller needs neither.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class PolicyError(ValueError):
    """A policy file is missing, unreadable or does not fit the site."""


class TorchActor:
    """A TorchScript actor: ``actor(observations (N, O)) -> actions (N, A)`` in [-1, 1]."""

    def __init__(self, path: str | Path, observation_size: int | None = None):
        import torch

        path = Path(path)
        if not path.is_file():
            raise PolicyError(f"{path}: policy file not found")
        try:
            self.module = torch.jit.load(str(path), map_location="cpu").eval()
        except Exception as exc:  # torch raises several kinds for a bad file
            raise PolicyError(f"{path}: not a TorchScript policy ({exc})") from None
        self.path = path
        self.observation_size = observation_size
        self._torch = torch

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        obs = np.asarray(observations, dtype=np.float32)
        if obs.ndim == 1:
            obs = obs[None, :]
        if self.observation_size is not None and obs.shape[1] != self.observation_size:
            raise PolicyError(
                f"{self.path}: expects {self.observation_size} observation features, "
                f"got {obs.shape[1]}"
            )
        with self._torch.no_grad():
            out = self.module(self._torch.from_numpy(obs))
        return out.numpy().astype(np.float64)
