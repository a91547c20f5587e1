"""The perfect-knowledge optimiser: the upper bound RL agents are compared against.

A model-predictive controller with the true plant model (the simulator's own parameters
and state) and the true weather and IT load ahead (PHYSICS.md §9). At every control
interval it simulates candidate setpoint trajectories over ``horizon_steps`` intervals
(40 minutes by default) with the batch plant, and applies the first move of the
cheapest candidate whose hottest rack inlet stays ``margin_k`` below the recommended
limit over the whole horizon (if none does, the one that violates least).

Candidates, all simulated in one batch, each a ramp-limited trajectory towards a
target: (1) local moves, every setpoint by −1, 0 or +1 ramp limit, then held; (2) a
family of coordinated targets of the kind good plants run: supply air within ±2 K of
the current one, chilled water 3-7 K below it, condenser water 2-6 K above the wet-bulb
(not below the chillers' minimum), pump speed carrying the coil load at 0.8-1.3 × the
design ΔT. The economizer stays enabled where fitted (the plant's G36 logic engages it
only when it helps; toggling it would restart its 20-minute hold).

Cost: the facility energy the controls can change (facility minus compute IT power)
over the horizon. It respects the same ranges and ramp limits as every other
controller. It is slow (about 2,500 plant-steps per interval, some 6 s per simulated
week) and that is fine.
"""

from __future__ import annotations

import itertools

import numpy as np

from cooling.control.baselines import StepContext, _Base
from cooling.plant import plant as plantmod
from cooling.plant.plant import Setpoints, Telemetry
from cooling.spec import SiteSpec


class OracleController(_Base):
    name = "oracle"

    def __init__(self, spec: SiteSpec, horizon_steps: int = 8, margin_k: float = 1.0):
        super().__init__(spec)
        if horizon_steps < 1:
            raise ValueError(f"horizon_steps must be >= 1 (got {horizon_steps})")
        self.horizon = horizon_steps
        self.limit_c = spec.envelope.recommended_high_c - margin_k
        moves = list(itertools.product((-1.0, 0.0, 1.0), repeat=4))
        # The economizer stays enabled where fitted: the plant's own G36 logic engages it
        # only when it helps, and every disable restarts its 20-minute hold.
        self.econ = (1.0,) if spec.economizer is not None else (0.0,)
        self.directions = np.array([[*m, e] for m in moves for e in self.econ])  # (K, 5)
        self.family = np.array(
            list(
                itertools.product(
                    (-2.0, -1.0, 0.0, 1.0, 2.0),  # supply air offset [K]
                    (3.0, 4.0, 5.0, 6.0, 7.0),  # chilled water below supply air [K]
                    (2.0, 4.0, 6.0),  # condenser water above wet-bulb [K]
                    (0.8, 1.0, 1.3),  # pump: multiple of the design ΔT
                    self.econ,
                )
            )
        )
        self.design_kg_s = spec.chw_design_flow_kg_s
        self.design_dt_k = spec.chw_loop.design_delta_t_k
        self.min_ecwt_c = spec.chillers.min_ecwt_c

    def _targets(self, telemetry: Telemetry) -> np.ndarray:
        """Targets (N, K, 5): local moves over the horizon and the coordinated family."""
        n = len(telemetry)
        local = self.current[:, None, :] + self.directions[None] * self.ramp
        local[:, :, 4] = self.directions[None, :, 4]
        f = self.family
        sa = self.current[:, 1:2] + f[None, :, 0]
        chw = sa - f[None, :, 1]
        wb = np.nan_to_num(telemetry.outdoor_wet_bulb_c, nan=20.0)[:, None]
        cw = np.maximum(wb + f[None, :, 2], self.min_ecwt_c)
        q_coil = np.nan_to_num(telemetry.q_coil_kw, nan=0.0)[:, None]
        pump = q_coil / (4.186 * self.design_dt_k * f[None, :, 3] * self.design_kg_s)
        econ = np.broadcast_to(f[None, :, 4], (n, f.shape[0]))
        family = np.stack([chw, sa, cw, pump, econ], axis=2)
        return np.concatenate([local, family], axis=1)

    def __call__(self, telemetry: Telemetry, context: StepContext | None = None) -> Setpoints:
        if context is None:
            raise ValueError("the oracle needs the true plant state and future disturbances")
        n = len(telemetry)
        self._sync(telemetry)
        targets = np.clip(self._targets(telemetry), self.lo, self.hi)  # (N, K, 5)
        k_cand = targets.shape[1]
        h_steps = self.horizon
        # ramp-limited trajectories towards each target (N·K, H, 5)
        steps = np.arange(1, h_steps + 1)[None, None, :, None]
        delta = targets - self.current[:, None, :]
        move = np.clip(delta[:, :, None, :], -steps * self.ramp, steps * self.ramp)
        traj = self.current[:, None, None, :] + move
        traj[..., 4] = targets[:, :, None, 4]
        traj = np.clip(traj, self.lo, self.hi).reshape(n * k_cand, h_steps, 5)

        rows = np.repeat(np.arange(n), k_cand)
        state = plantmod.PlantState(context.state.data[rows])
        params = plantmod.PlantParams(
            context.params.data[rows], context.params.site, context.params.zones
        )
        traces = context.traces
        last = traces.dry_bulb_c.shape[0] - 1
        cost = np.zeros(n * k_cand)
        worst = np.full(n * k_cand, -np.inf)
        for h in range(h_steps):
            k = min(context.step + h, last)
            dist = plantmod.Disturbances(traces.at(k).data[rows])
            state, tel = plantmod.step(state, Setpoints(traj[:, h, :]), dist, params, check=False)
            cost += tel.facility_kw - tel.it_compute_kw
            worst = np.maximum(worst, tel.inlet_max_c)
        violation = np.maximum(worst - self.limit_c, 0.0).reshape(n, k_cand)
        cost = cost.reshape(n, k_cand)
        feasible = violation <= 0.0
        score = np.where(feasible, cost, np.inf)
        best = np.where(
            feasible.any(axis=1), np.argmin(score, axis=1), np.argmin(violation, axis=1)
        )
        chosen = traj.reshape(n, k_cand, h_steps, 5)[np.arange(n), best, 0, :]
        self.current = chosen
        return Setpoints(chosen.copy())
