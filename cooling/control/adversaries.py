"""Hostile and broken policies, to test the safety shield.

- ``random``: uniform setpoints over the site's ranges (seeded), ignoring ramp limits;
- ``adversarial``: the warmest, slowest-pumping setpoints it can propose, economizer
  off: everything that heats the racks;
- ``nan``: non-finite setpoints (NaN and ±inf in turn).

They have the controllers' interface; none of them respects ramp limits, and only
``random`` stays within the ranges.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cooling.control.baselines import Controller, StepContext, _Base
from cooling.plant.plant import Setpoints, Telemetry
from cooling.spec import SiteSpec


class RandomController(_Base):
    name = "random"

    def __init__(self, spec: SiteSpec, seed: int = 0):
        super().__init__(spec)
        self.rng = np.random.default_rng(seed)

    def __call__(self, telemetry: Telemetry, context: StepContext | None = None) -> Setpoints:
        n = len(telemetry)
        values = np.tile(self.fixed, (n, 1))
        values[:, :5] = self.rng.uniform(self.lo[:5], self.hi[:5], (n, 5))
        values[:, 4] = self.rng.integers(0, 2, n)
        if self.hi[5] > self.lo[5]:  # the CRAH air flow, where the site exposes it
            values[:, 5] = self.rng.uniform(self.lo[5], self.hi[5], n)
        return Setpoints(values)


class AdversarialController(_Base):
    name = "adversarial"

    def __call__(self, telemetry: Telemetry, context: StepContext | None = None) -> Setpoints:
        worst = self.hi.copy()  # warmest chilled water, supply air and condenser water
        worst[3] = self.lo[3]  # slowest pumping
        worst[4] = 0.0  # no economizer
        worst[5] = self.lo[5]  # the least CRAH air, the most recirculation
        return Setpoints(np.tile(worst, (len(telemetry), 1)))


class NaNController(_Base):
    name = "nan"

    def __init__(self, spec: SiteSpec):
        super().__init__(spec)
        self.k = 0

    def __call__(self, telemetry: Telemetry, context: StepContext | None = None) -> Setpoints:
        bad = (np.nan, np.inf, -np.inf)[self.k % 3]
        self.k += 1
        return Setpoints(np.full((len(telemetry), self.fixed.size), bad))


ADVERSARIES: dict[str, Callable[[SiteSpec], Controller]] = {
    "random": RandomController,
    "adversarial": AdversarialController,
    "nan": NaNController,
}
