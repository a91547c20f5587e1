"""The gymnasium environment of a site's chilled-water plant."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from cooling.env.core import (
    EVAL_WEEK_START_DAYS,
    VALIDATION_WEEK_START_DAYS,
    BatchCore,
    make_options,
)
from cooling.spec import SiteSpec, load_site


class CoolingEnv(gym.Env):
    """## Description

    A datacenter's chilled-water cooling plant (chillers with staging, cooling towers,
    pumps, a waterside economizer where fitted, CRAH units and racks of servers) under
    real weather and IT load, stepped every control interval (5 minutes by default).
    The agent chooses the plant's setpoints; the plant's own controls (chiller staging,
    economizer interlocks, tower fans holding the condenser-water setpoint) do the rest.
    One registered id per shipped site, e.g. ``gymnasium.make("cooling/Enterprise-v1")``;
    the site's spec (ratings, envelope, traces) is ``env.unwrapped.site_spec``
    (``env.spec`` is gymnasium's registration).

    ## Action space

    ``Box(-1, 1, (A,), float32)``, one entry per setpoint the site exposes, mapped
    linearly onto its range from the site spec (``env.unwrapped.setpoint_map``:
    ``to_engineering`` and ``to_action`` both ways):

    | setpoint | unit | typical range |
    | --- | --- | --- |
    | ``chw_supply_c`` | °C | 6-20 |
    | ``supply_air_c`` | °C | 16-26 |
    | ``cw_supply_c`` | °C | 13-32 |
    | ``chw_pump_speed`` | fraction of design flow | 0.3-1 |
    | ``economizer`` (sites with one) | enable when the mapped value ≥ 0.5 | 0-1 |

    ## Observation space

    ``Box(-10, 10, (O,), float32)`` of named, scaled features
    (``env.unwrapped.observation_names``): outdoor dry- and wet-bulb; IT load (fraction
    of capacity); hottest and mean rack inlet per zone; chilled-water supply and return,
    condenser-water supply and return, supply air; chillers running (fraction) and
    economizer on; the setpoints in force (in action units); time of day and of year as
    sine/cosine; IT-load and wet-bulb forecasts 1 h and 3 h ahead. Temperatures are
    scaled as (T − centre)/span, e.g. inlets (T − 22)/5. Every reading comes from the
    plant's telemetry, the outdoor air included; a forecast is the reading now plus the
    change the site's typical-year trace makes from now to then (persistence plus the
    typical day), so a deployed policy follows the measured weather, not the typical
    year's (:mod:`cooling.features`).

    ## Reward

    ``reward = −(P_facility − P_compute)/(0.25·P_IT,rated) − λ·(ΔT_rec + 10·ΔT_allow)``:
    the facility power the controls can change (cooling, electrical losses, server fans
    and leakage; compute power is subtracted since no action changes it, so the optimum
    is that of facility energy), scaled to order 1, minus ``λ = penalty_per_k`` per K of
    hottest inlet above the recommended limit (27 °C), ten times that above the allowable
    one (32 °C); with ``penalty_margin_k = m`` the first term counts from 27 − m °C (the
    cost does not move). ``info`` carries the terms (``reward_energy``, ``reward_penalty``),
    ``cost`` (K above the recommended limit, for constrained RL), ``pue`` (of the
    interval), the power breakdown [kW], ``facility_kwh``, ``cooling_kwh``, ``water_l``,
    ``carbon_kg`` and ``max_inlet_c``.

    ## Episodes

    ``episode_days`` long (default 7 days = 2016 steps), never terminated, truncated at
    the end. In ``mode="train"`` each episode starts at a seeded random day of the year
    whose episode overlaps neither a held-out nor a validation week; ``mode="eval"``
    cycles through the held-out weeks (start days 21, 112, 203, 294: the test set every
    reported figure comes from); ``mode="validation"`` through the validation weeks, five
    weeks later in the same seasons (start days 56, 147, 238, 329: where training picks
    its best checkpoint). In those two modes a seeded reset starts the cycle again at its
    first week, so it replays the same episode; unseeded resets go on to the next week.
    The plant starts from the legacy fixed setpoints, settled for ``warmup_steps``
    intervals.

    ## Arguments

    ``site`` (shipped name or YAML path), ``episode_days=7``, ``mode="train"``,
    ``sensor_noise_c=0`` (Gaussian noise on observed temperatures [K]), ``randomize=0``
    (domain randomisation: coil and tower effectiveness, thermal masses, recirculation
    and chiller capacity each scaled by U(1−x, 1+x) per episode), ``penalty_per_k=1``,
    ``penalty_margin_k=0`` (K below 27 °C where the penalty starts), ``warmup_steps=12``.

    ## Version history

    * v1: the observation reads the outdoor air from the telemetry, and its forecasts
      are persistence plus the typical-year traces' change (v0 read the outdoor air and
      the forecasts from the typical-year trace itself, which a deployed controller can
      only match on a typical day). Policies trained on v0 must be trained again.
    * v0: first release. (The site spec moved from ``spec``, where it hid gymnasium's
      ``EnvSpec``, to ``site_spec``; the dynamics are unchanged.)
    """

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, site: str | SiteSpec = "enterprise", **options: Any):
        spec = site if isinstance(site, SiteSpec) else load_site(site)
        self.site_spec = spec  # not `spec`: gymnasium keeps its EnvSpec there
        self.core = BatchCore(spec, 1, make_options(options))
        self.setpoint_map = self.core.map
        self.observation_names = self.core.observation_names
        self.action_space = spaces.Box(-1.0, 1.0, (len(self.core.names),), np.float32)
        self.observation_space = spaces.Box(-10.0, 10.0, (len(self.observation_names),), np.float32)
        self.eval_week_start_days = EVAL_WEEK_START_DAYS
        self.validation_week_start_days = VALIDATION_WEEK_START_DAYS

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:  # fixed weeks: a seeded reset replays the same episodes
            self.core.eval_counter[:] = 0
        self.core.reset_rows(np.array([0]), [self.np_random])
        obs = self.core.observe(self.np_random)[0]
        return obs, {"start_day": self.core.start_hour[0] / 24.0}

    def step(self, action):
        out = self.core.step(np.asarray(action)[None, :])
        obs = self.core.observe(self.np_random)[0]
        info = {k: float(v[0]) for k, v in out.items() if k not in ("reward", "truncated")}
        return obs, float(out["reward"][0]), False, bool(out["truncated"][0]), info
