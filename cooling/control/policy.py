"""Trained policies for deployment: loaded with torch alone.

A policy trained by :mod:`cooling.train` ships as ``actor.pt``, its deterministic actor
exported as TorchScript: observations (float32, the environment's features) in, actions
in [-1, 1] out. :class:`TorchActor` loads and runs it without stable-baselines3 or
gymnasium, so a deployed controller needs neither.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cooling.control.baselines import SET_COLUMNS, StepContext
from cooling.features import FORECAST_HOURS, observation_kernel, observation_names
from cooling.plant import plant as plantmod
from cooling.plant.weather import load_weather
from cooling.plant.workload import load_utilisation
from cooling.setpoints import SetpointMap
from cooling.spec import SiteSpec


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


class PolicyController:
    """A trained actor as a controller: telemetry → the environment's features → setpoints.

    The features are :func:`cooling.features.observation_kernel`'s, the same the
    environment trained on; their forecasts come from the site's own weather and load
    traces (a typical year), looked up at the hour of year of each step. In a simulation
    the hour comes from the step's context; a deployed controller passes ``hours``.
    """

    name = "policy"

    def __init__(self, spec: SiteSpec, actor: TorchActor):
        self.spec = spec
        self.actor = actor
        weather = load_weather(spec.path(spec.weather))
        self.dry_bulb_c, self.wet_bulb_c = weather.dry_bulb_c, weather.wet_bulb_c
        self.utilisation = load_utilisation(spec.path(spec.it.workload))
        self.map = SetpointMap.from_spec(spec)
        self.n_obs = len(observation_names(spec))
        if actor.observation_size is not None and actor.observation_size != self.n_obs:
            raise PolicyError(
                f"{actor.path}: trained on {actor.observation_size} observation features; "
                f"site {spec.name} has {self.n_obs} (a policy for another site?)"
            )
        self._forecast = np.array(FORECAST_HOURS)

    def reset(self, n: int) -> None:
        self.n = n

    def __call__(
        self,
        telemetry: plantmod.Telemetry,
        context: StepContext | None = None,
        hours: np.ndarray | None = None,
    ) -> plantmod.Setpoints:
        if hours is None:
            if context is None:
                raise ValueError("the policy controller needs the hour of year of each step")
            hours = context.traces.hours[context.step]
        n = len(telemetry)
        hours = np.broadcast_to(np.asarray(hours, dtype=np.float64), (n,)).copy()
        out = np.empty((n, self.n_obs), dtype=np.float32)
        setpoints = np.ascontiguousarray(telemetry.data[:, SET_COLUMNS])
        observation_kernel(
            np.ascontiguousarray(telemetry.data), hours, self.dry_bulb_c, self.wet_bulb_c,
            self.utilisation, self.spec.it.servers.idle_fraction, setpoints,
            self.map.index, self.map.lo, self.map.hi, len(self.spec.zones),
            self.spec.it.capacity_kw, float(self.spec.chillers.count), self._forecast,
            np.zeros((n, 2 * len(self.spec.zones) + 5)), out,
        )  # fmt: skip
        actions = self.actor(out)
        if actions.shape[1] != len(self.map.names):
            raise PolicyError(
                f"{self.actor.path}: gives {actions.shape[1]} actions; site {self.spec.name} "
                f"has {len(self.map.names)} setpoints ({', '.join(self.map.names)})"
            )
        full = setpoints.copy()
        full[:, self.map.index] = self.map.to_engineering(actions)
        return plantmod.Setpoints(full)


def load_policy(path: str | Path, spec: SiteSpec) -> PolicyController:
    """The policy beside a model card: ``policy.zip`` → its ``actor.pt`` (torch only)."""
    path = Path(path)
    actor_path = path if path.suffix == ".pt" else path.with_name("actor.pt")
    card_path = actor_path.with_name("model_card.json")
    size = None
    if card_path.is_file():
        card = json.loads(card_path.read_text())
        size = card.get("observation_size")
    if not path.exists():
        raise PolicyError(f"{path}: policy not found")
    return PolicyController(spec, TorchActor(actor_path, observation_size=size))
