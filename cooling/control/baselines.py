"""Baseline controllers: telemetry in, setpoints out.

Every controller is called once per control interval with the plant telemetry of the
last interval (a ``Telemetry`` of N plants) and returns the ``Setpoints`` of N plants.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from cooling.plant.plant import Setpoints, Telemetry
from cooling.setpoints import fixed_vector
from cooling.spec import SiteSpec


class Controller(Protocol):
    name: str

    def __call__(self, telemetry: Telemetry) -> Setpoints: ...


class FixedController:
    """Legacy operation: constant setpoints from the site spec's ``fixed_setpoints``
    (typically chilled water 7 °C, supply air 18 °C, condenser water 29.4 °C (85 °F),
    pumps at full speed, economizer enabled where fitted)."""

    name = "fixed"

    def __init__(self, spec: SiteSpec):
        self._vector = fixed_vector(spec)

    def __call__(self, telemetry: Telemetry) -> Setpoints:
        return Setpoints(np.broadcast_to(self._vector, (len(telemetry), self._vector.size)))


CONTROLLERS = {"fixed": FixedController}


def make(name: str, spec: SiteSpec) -> Controller:
    """A baseline controller by name."""
    try:
        return CONTROLLERS[name](spec)
    except KeyError:
        raise ValueError(
            f"unknown controller {name!r}; available: {', '.join(CONTROLLERS)}"
        ) from None
