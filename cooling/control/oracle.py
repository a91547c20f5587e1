"""The perfect-knowledge optimiser: the reference RL agents are compared against (a search
of plans, not a bound: a policy can beat it).

A model-predictive controller with the true plant model (the simulator's own parameters
and state) and the true weather and IT load ahead (PHYSICS.md §9). At every control
interval it plans the setpoints over ``horizon_steps`` intervals (2 hours by default) and
applies the first move of the best plan, replanning at the next interval (receding
horizon). The best plan is the cheapest whose hottest rack inlet stays ``margin_k`` below
the recommended limit over the whole horizon (if none does, the one that violates least).

A plan is ``blocks`` targets held in turn (four half-hour blocks by default), every
setpoint moving towards the block's target as fast as its ramp limit allows. Plans are
searched by the cross-entropy method (Rubinstein 1999; the planner of PETS, Chua et al.
2018): ``iterations`` rounds of ``population`` plans drawn around the current mean, all
simulated in one batch with the plant itself, the mean and spread refitted to the best
``elites``. The search starts from the last interval's best plan, and its first round
also tries the greedy candidates of a simpler oracle, each held over the whole horizon:
(1) local moves, every setpoint by −1, 0 or +1 ramp limit; (2) a family
of coordinated targets of the kind good plants run: supply air within ±2 K of the current
one, chilled water 3-7 K below it, condenser water 2-6 K above the wet-bulb (not below
the chillers' minimum), pump speed carrying the coil load at 0.8-1.3 × the design ΔT.
So the plan it applies is never worse, by the model, than the best of those. The
economizer stays enabled where fitted (the plant's G36 logic engages it only when it
helps; toggling it would restart its 20-minute hold).

Cost: the facility energy the controls can change (facility minus compute IT power) over
the horizon. It respects the same ranges and ramp limits as every other controller. The
search is seeded (plant i of a batch with ``seed + i``), so a run is reproducible and a
plant's run does not depend on the batch beside it. It is slow (about 12,000 plant-steps
per interval, some 25 s per simulated week on one core) and that is fine.
"""

from __future__ import annotations

import itertools

import numpy as np

from cooling.control.baselines import StepContext, _Base
from cooling.plant import plant as plantmod
from cooling.plant.plant import Setpoints, Telemetry
from cooling.spec import SiteSpec
from cooling.units import CP_WATER_KJ_KG_K


class OracleController(_Base):
    name = "oracle"

    def __init__(
        self,
        spec: SiteSpec,
        horizon_steps: int = 24,
        margin_k: float = 0.5,
        blocks: int = 4,
        population: int = 64,
        iterations: int = 3,
        elites: int = 8,
        seed: int = 0,
    ):
        super().__init__(spec)
        for name, value, low in (
            ("horizon_steps", horizon_steps, 1),
            ("blocks", blocks, 1),
            ("population", population, 2),
            ("iterations", iterations, 1),
            ("elites", elites, 1),
        ):
            if value < low:
                raise ValueError(f"{name} must be >= {low} (got {value})")
        if blocks > horizon_steps:
            raise ValueError(f"blocks ({blocks}) cannot exceed horizon_steps ({horizon_steps})")
        if elites > population:
            raise ValueError(f"elites ({elites}) cannot exceed population ({population})")
        if not 0.0 <= margin_k < 10.0:
            raise ValueError(f"margin_k must be in [0, 10) K (got {margin_k})")
        self.horizon = horizon_steps
        self.blocks = blocks
        self.population = population
        self.iterations = iterations
        self.elites = elites
        self.seed = seed
        self.rngs = [np.random.default_rng(seed)]  # plant i searches with seed + i
        self.limit_c = spec.envelope.recommended_high_c - margin_k
        # which block each step of the horizon follows
        self.block_of_step = np.arange(horizon_steps) * blocks // horizon_steps
        moves = list(itertools.product((-1.0, 0.0, 1.0), repeat=4))
        # The economizer stays enabled where fitted: the plant's own G36 logic engages it
        # only when it helps, and every disable restarts its 20-minute hold.
        self.econ = 1.0 if spec.economizer is not None else 0.0
        # (K, setpoints): the CRAH air flow held, as the family holds it; the search moves it
        self.directions = np.array([[*m, self.econ, 0.0] for m in moves])
        self.dim = self.fixed.size
        self.family = np.array(
            list(
                itertools.product(
                    (-2.0, -1.0, 0.0, 1.0, 2.0),  # supply air offset [K]
                    (3.0, 4.0, 5.0, 6.0, 7.0),  # chilled water below supply air [K]
                    (2.0, 4.0, 6.0),  # condenser water above wet-bulb [K]
                    (0.8, 1.0, 1.3),  # pump: multiple of the design ΔT
                )
            )
        )
        self.design_kg_s = spec.chw_design_flow_kg_s
        self.design_dt_k = spec.chw_loop.design_delta_t_k
        self.min_ecwt_c = spec.chillers.min_ecwt_c
        self.plan: np.ndarray | None = None  # (N, blocks, setpoints): the last best plan

    def reset(self, n: int) -> None:
        super().reset(n)
        # one stream per plant, so a plant's run does not depend on the batch beside it
        self.rngs = [np.random.default_rng(self.seed + i) for i in range(n)]
        self.plan = None

    def _targets(self, telemetry: Telemetry) -> np.ndarray:
        """Greedy candidates (N, K, setpoints): local moves and the coordinated family."""
        n = len(telemetry)
        local = self.current[:, None, :] + self.directions[None] * self.ramp
        local[:, :, 4] = self.econ
        f = self.family
        sa = self.current[:, 1:2] + f[None, :, 0]
        chw = sa - f[None, :, 1]
        wb = np.nan_to_num(telemetry.outdoor_wet_bulb_c, nan=20.0)[:, None]
        cw = np.maximum(wb + f[None, :, 2], self.min_ecwt_c)
        q_coil = np.nan_to_num(telemetry.q_coil_kw, nan=0.0)[:, None]
        pump = q_coil / (CP_WATER_KJ_KG_K * self.design_dt_k * f[None, :, 3] * self.design_kg_s)
        econ = np.full((n, f.shape[0]), self.econ)
        airflow = np.repeat(self.current[:, 5:6], f.shape[0], axis=1)
        family = np.stack([chw, sa, cw, pump, econ, airflow], axis=2)
        return np.concatenate([local, family], axis=1)

    def _rollout(
        self, context: StepContext, plans: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Simulate plans (N, P, blocks, setpoints) from the true state: cost and inlet
        violation (N, P) over the horizon, and each plan's first setpoints (N, P, setpoints)."""
        n, p = plans.shape[:2]
        rows = np.repeat(np.arange(n), p)
        state = plantmod.PlantState(context.state.data[rows])
        params = plantmod.PlantParams(
            context.params.data[rows], context.params.site, context.params.zones
        )
        traces = context.traces
        last = traces.dry_bulb_c.shape[0] - 1
        flat = plans.reshape(n * p, self.blocks, self.dim)
        setpoints = np.repeat(self.current, p, axis=0)
        first = setpoints
        cost = np.zeros(n * p)
        worst = np.full(n * p, -np.inf)
        for h in range(self.horizon):
            target = flat[:, self.block_of_step[h], :]
            setpoints = np.clip(
                setpoints + np.clip(target - setpoints, -self.ramp, self.ramp), self.lo, self.hi
            )
            setpoints[:, 4] = target[:, 4]
            if h == 0:
                first = setpoints
            k = min(context.step + h, last)
            dist = plantmod.Disturbances(traces.at(k).data[rows])
            state, tel = plantmod.step(state, Setpoints(setpoints), dist, params, check=False)
            cost += tel.facility_kw - tel.it_compute_kw
            worst = np.maximum(worst, tel.inlet_max_c)
        violation = np.maximum(worst - self.limit_c, 0.0)
        return cost.reshape(n, p), violation.reshape(n, p), first.reshape(n, p, self.dim)

    def _noise(self) -> np.ndarray:
        """Standard normal draws (N, population, blocks, setpoints), one stream per plant.

        The CRAH air flow draws after the other setpoints, and only where the site exposes
        it, so that a site without it searches exactly as before it existed.
        """
        shape = (self.population, self.blocks, 5)
        out = []
        for rng in self.rngs:
            first = rng.standard_normal(shape)
            airflow = (
                rng.standard_normal((*shape[:2], 1))
                if self.hi[5] > self.lo[5]
                else np.zeros((*shape[:2], 1))
            )
            out.append(np.concatenate([first, airflow], axis=2))
        return np.stack(out)

    def __call__(self, telemetry: Telemetry, context: StepContext | None = None) -> Setpoints:
        if context is None:
            raise ValueError("the oracle needs the true plant state and future disturbances")
        n = len(telemetry)
        self._sync(telemetry)
        if self.plan is None:  # reset (as _sync does when N changes) clears it
            mean = np.repeat(self.current[:, None, :], self.blocks, axis=1)
            mean[..., 4] = self.econ
        else:  # warm start: the last interval's plan
            mean = self.plan
        span = self.hi - self.lo
        std = np.broadcast_to(0.25 * span, mean.shape).copy()
        std[..., 4] = 0.0
        greedy = np.clip(self._targets(telemetry), self.lo, self.hi)
        greedy = np.repeat(greedy[:, :, None, :], self.blocks, axis=2)  # held throughout
        best_plan = mean
        best_first = self.current
        rows = np.arange(n)
        for i in range(self.iterations):
            noise = self._noise()
            drawn = np.clip(mean[:, None] + std[:, None] * noise, self.lo, self.hi)
            extra = [mean[:, None], best_plan[:, None]] + ([greedy] if i == 0 else [])
            plans = np.concatenate([drawn, *extra], axis=1)
            cost, violation, first = self._rollout(context, plans)
            # feasible plans by cost, then the rest by how much they violate
            key = np.where(violation > 0.0, np.inf, cost)
            order = np.lexsort((key, violation), axis=1)
            elite = np.take_along_axis(plans, order[:, : self.elites, None, None], axis=1)
            mean = elite.mean(axis=1)
            std = elite.std(axis=1) + 0.02 * span
            std[..., 4] = 0.0
            best_plan = plans[rows, order[:, 0]]
            best_first = first[rows, order[:, 0]]
        self.plan = best_plan  # where the next interval's search starts
        self.current = best_first.copy()
        return Setpoints(best_first.copy())
