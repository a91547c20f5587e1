"""Trained policies for deployment: loaded with torch alone.

A policy trained by :mod:`cooling.train` ships as ``actor.pt``, its deterministic actor:
observations (float32, the environment's features) in, actions in [-1, 1] out. The file
holds tensors and names only (:data:`ACTOR_FORMAT`), read with
``torch.load(weights_only=True)``, so loading a policy cannot run code from the file.
:class:`TorchActor` rebuilds and runs the network with torch alone, without
stable-baselines3 or gymnasium, so a deployed controller needs neither. TorchScript
actors (which carry code) are refused; ``cooling export-actor`` rewrites them from their
``policy.zip``.
"""

from __future__ import annotations

import json
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from cooling.control.baselines import SET_COLUMNS, StepContext
from cooling.features import (
    FORECAST_HOURS,
    OBSERVATION_VERSION,
    n_sensed,
    observation_kernel,
    observation_names,
)
from cooling.plant import plant as plantmod
from cooling.plant.weather import load_weather
from cooling.plant.workload import load_utilisation
from cooling.setpoints import SetpointMap
from cooling.spec import SiteSpec

#: The ``format`` entry of an exported actor: a multilayer perceptron given as
#: ``weights``/``biases`` (one per Linear layer, input first), ``hidden_activation``
#: (``relu`` or ``tanh``) and ``output`` (``tanh`` squashing or ``clip`` to [-1, 1]).
ACTOR_FORMAT = "dc-cooling/mlp-actor/1"
_ACTIVATIONS = ("relu", "tanh")
_OUTPUTS = ("tanh", "clip")


class PolicyError(ValueError):
    """A policy file is missing, unreadable or does not fit the site."""


def build_actor(payload: object) -> Any:
    """The torch module of an exported actor payload (see :data:`ACTOR_FORMAT`).

    Every entry is checked: real floating-point tensors, finite, layers that chain, and
    the declared ``observation_size`` and ``action_size`` matching the weights.
    """
    import torch

    if not isinstance(payload, dict) or payload.get("format") != ACTOR_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(f"not a {ACTOR_FORMAT} actor (format: {found!r})")
    hidden, output = payload.get("hidden_activation"), payload.get("output")
    if hidden not in _ACTIVATIONS or output not in _OUTPUTS:
        raise ValueError(
            f"hidden_activation must be one of {_ACTIVATIONS} (got {hidden!r}) and output "
            f"one of {_OUTPUTS} (got {output!r})"
        )
    weights, biases = payload.get("weights"), payload.get("biases")
    if (
        not weights
        or not isinstance(weights, list)
        or not isinstance(biases, list)
        or len(weights) != len(biases)
    ):
        raise ValueError("weights and biases must be lists of equal, non-zero length")
    layers: list[Any] = []
    for k, (w, b) in enumerate(zip(weights, biases, strict=True)):
        for name, t in (("weight", w), ("bias", b)):
            if not (torch.is_tensor(t) and t.is_floating_point()):
                raise ValueError(f"layer {k}: {name} is not a real floating-point tensor")
            if not torch.isfinite(t).all():
                raise ValueError(f"layer {k}: {name} holds NaN or infinite values")
        if w.ndim != 2 or b.shape != (w.shape[0],) or (k and w.shape[1] != weights[k - 1].shape[0]):
            raise ValueError(f"layer {k}: weight {tuple(w.shape)} and bias {tuple(b.shape)} "
                             "do not chain")  # fmt: skip
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(w)
            linear.bias.copy_(b)
        layers.append(linear)
        if k < len(weights) - 1:
            layers.append(torch.nn.ReLU() if hidden == "relu" else torch.nn.Tanh())
    layers.append(torch.nn.Tanh() if output == "tanh" else torch.nn.Hardtanh(-1.0, 1.0))
    sizes = {"observation_size": weights[0].shape[1], "action_size": weights[-1].shape[0]}
    for key, size in sizes.items():
        if payload.get(key) != size:
            raise ValueError(f"{key} is {payload.get(key)!r} but the weights give {size}")
    return torch.nn.Sequential(*layers).eval()


def _is_torchscript(path: Path) -> bool:
    """A TorchScript archive (it carries code: ``<root>/code/``, ``constants.pkl``)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    return any("/code/" in n or n.endswith("/constants.pkl") for n in names)


def _load_actor(path: Path) -> Any:
    """The actor module of an :data:`ACTOR_FORMAT` file (tensors only, never code)."""
    import torch

    if _is_torchscript(path):  # as dc-cooling exported actors before this format
        raise ValueError(
            "a TorchScript actor, which runs code from the file when loaded: write it "
            "again as plain tensors with `cooling export-actor --policy DIR/policy.zip`"
        )
    try:
        payload = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # torch's long advice would say to trust the file
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
        raise ValueError(
            "it holds objects other than tensors, numbers, strings and lists"
            + (f" ({found.group(1)})" if found else "")
            + "; weights-only loading refuses them"
        ) from None
    return build_actor(payload)


class TorchActor:
    """An exported actor: ``actor(observations (N, O)) -> actions (N, A)`` in [-1, 1]."""

    def __init__(self, path: str | Path, observation_size: int | None = None):
        import torch

        path = Path(path)
        if not path.is_file():
            raise PolicyError(f"{path}: policy file not found")
        try:
            self.module = _load_actor(path)
        except Exception as exc:  # torch raises several kinds for a bad file
            raise PolicyError(f"{path}: not an exported actor ({exc})") from None
        self.path = path
        trained_on = self.module[0].in_features
        if observation_size is not None and observation_size != trained_on:
            raise PolicyError(
                f"{path}: its network takes {trained_on} observation features, but its "
                f"model card says {observation_size} (an actor.pt from another policy?)"
            )
        self.observation_size: int = trained_on
        self._torch = torch

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        obs = np.asarray(observations, dtype=np.float32)
        if obs.ndim == 1:
            obs = obs[None, :]
        if obs.shape[1] != self.observation_size:
            raise PolicyError(
                f"{self.path}: expects {self.observation_size} observation features, "
                f"got {obs.shape[1]}"
            )
        with self._torch.no_grad():
            out = self.module(self._torch.from_numpy(obs))
        actions: np.ndarray = np.clip(out.numpy().astype(np.float64), -1.0, 1.0)
        return actions


#: The furthest the typical-year weather a policy reads may run from the plant's [days]:
#: half a year either way reaches every day of it.
MAX_WEATHER_OFFSET_DAYS = 182


class PolicyController:
    """A trained actor as a controller: telemetry → the environment's features → setpoints.

    The features are :func:`cooling.features.observation_kernel`'s, the same the
    environment trained on: the readings from the telemetry, the forecasts adding the
    change of the site's own weather and load traces (a typical year), looked up at the
    hour of year of each step. In a simulation the hour comes from the step's context; a
    deployed controller passes ``hours``.

    ``weather_offset_days``: the typical-year weather the features read runs that many
    days ahead of the weather the plant meets, a stand-in for a year that is not the
    typical one (evaluation only; 0, the default, in training and deployment).
    """

    name = "policy"

    def __init__(self, spec: SiteSpec, actor: TorchActor, weather_offset_days: int = 0):
        if (
            isinstance(weather_offset_days, bool)
            or not isinstance(weather_offset_days, int | np.integer)
            or abs(weather_offset_days) > MAX_WEATHER_OFFSET_DAYS
        ):
            raise ValueError(
                f"weather_offset_days must be a whole number of days in "
                f"-{MAX_WEATHER_OFFSET_DAYS}..{MAX_WEATHER_OFFSET_DAYS} "
                f"(got {weather_offset_days!r})"
            )
        self.spec = spec
        self.actor = actor
        self.weather_offset_days = int(weather_offset_days)
        weather = load_weather(spec.path(spec.weather))
        shift = -24 * weather_offset_days  # typical[h] = trace[h + 24 * offset]
        self.dry_bulb_c = np.roll(weather.dry_bulb_c, shift)
        self.wet_bulb_c = np.roll(weather.wet_bulb_c, shift)
        self.utilisation = load_utilisation(spec.path(spec.it.workload))
        self.map = SetpointMap.from_spec(spec)
        self.n_obs = len(observation_names(spec))
        if actor.observation_size != self.n_obs:
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
            np.zeros((n, n_sensed(len(self.spec.zones)))), out,
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


def load_policy(path: str | Path, spec: SiteSpec, weather_offset_days: int = 0) -> PolicyController:
    """The policy beside a model card: ``policy.zip`` → its ``actor.pt`` (torch only).

    ``weather_offset_days``: as :class:`PolicyController`'s (evaluation only)."""
    path = Path(path)
    actor_path = path if path.suffix == ".pt" else path.with_name("actor.pt")
    card_path = actor_path.with_name("model_card.json")
    size = None
    if card_path.is_file():
        card = json.loads(card_path.read_text())
        size = card.get("observation_size")
        version = card.get("observation_version", 0)  # cards before v1 did not say
        if version != OBSERVATION_VERSION:
            raise PolicyError(
                f"{card_path}: trained on observation v{version}; this dc-cooling computes "
                f"v{OBSERVATION_VERSION} (the outdoor air read from the telemetry since v1), "
                f"so the policy would act on features it never saw: train it again with "
                f"the command in its card"
            )
    if not path.exists():
        raise PolicyError(f"{path}: policy not found")
    return PolicyController(
        spec, TorchActor(actor_path, observation_size=size), weather_offset_days
    )
