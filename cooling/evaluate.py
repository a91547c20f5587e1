"""Evaluating a trained policy against the baselines on the same weeks.

    cooling evaluate --policy agents/…/policy.zip [--site SITE]
                     [--weeks held-out|validation|all]
                     [--weather FILE.epw] [--workload FILE.csv] [--seed S]
                     [--shield [--shield-robust-fraction F]]
                     [--perturb F] [--sensor-noise K] [--baselines fixed,rules,oracle|none]
                     [--jobs N] [--plot FILE.png] [--json]

The policy (its exported actor, ``actor.pt`` beside the ``.zip``) and the
baselines (fixed, rules, oracle) each run through :func:`cooling.simulation.simulate`
on the same weeks, weather, load and seed: the held-out weeks (the test set), the
validation weeks (where training picks its checkpoint: compare recipes there, and keep the
held-out weeks for the final figure) or all 52. Reported per controller: the keys of
``cooling simulate --json`` summed over the weeks; the policy's cooling saving against
each baseline; the share of the oracle's saving against fixed that it captures
(``oracle_capture``, the issue's figure) and against the rules (``oracle_capture_vs_rules``:
what is left to win over a good operator); and the fraction of its steps above the
recommended inlet limit.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from cooling.control.baselines import make
from cooling.control.safety import ShieldConfig
from cooling.env.core import EVAL_WEEK_START_DAYS, VALIDATION_WEEK_START_DAYS
from cooling.simulation import simulate
from cooling.spec import SiteSpec, replace_checked

BASELINES = ("fixed", "rules", "oracle")


def _sum_reports(reports: list[dict]) -> dict:
    keys = ("it_kwh", "facility_kwh", "cooling_kwh", "water_l", "carbon_kg",
            "minutes_above_recommended", "minutes_above_allowable", "hours",
            "electrical_loss_kwh", "server_fan_kwh", "economizer_hours")  # fmt: skip
    total = {k: float(sum(r[k] for r in reports)) for k in keys}
    total["cooling_breakdown_kwh"] = {
        k: float(sum(r["cooling_breakdown_kwh"][k] for r in reports))
        for k in reports[0]["cooling_breakdown_kwh"]
    }
    total["pue"] = total["facility_kwh"] / total["it_kwh"]
    total["cooling_ppue"] = (total["it_kwh"] + total["cooling_kwh"]) / total["it_kwh"]
    total["wue_l_per_kwh"] = total["water_l"] / total["it_kwh"]
    total["max_inlet_c"] = float(max(r["max_inlet_c"] for r in reports))
    for k in ("shield_interventions", "fallback_steps"):
        if k in reports[0]:
            total[k] = int(sum(r[k] for r in reports))
    return total


def _baseline_week(
    spec: SiteSpec,
    name: str,
    day: int,
    seed: int,
    perturb: float,
    sensor_noise_c: float,
    want_record: bool,
) -> tuple[dict, list[dict] | None]:
    """One baseline on one week: its report and, if wanted, its per-interval history."""
    record: list[dict] | None = [] if want_record else None
    report = simulate(spec, make(name, spec), 7.0, day, (seed,), record=record,
                      perturb=perturb, sensor_noise_c=sensor_noise_c)[0]  # fmt: skip
    return report, record


def evaluate(
    spec: SiteSpec,
    policy: Any,
    weeks: str = "held-out",
    shield: bool | ShieldConfig = False,
    seed: int = 0,
    controllers: tuple[str, ...] = BASELINES,
    records: dict[str, list[dict]] | None = None,
    perturb: float = 0.0,
    sensor_noise_c: float = 0.0,
    jobs: int = 1,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """Run the policy and the baselines on the same weeks; the comparison as a dict.

    ``policy``: a :class:`PolicyController` or any controller (e.g. a test adversary).
    ``shield``: run the policy behind the safety shield (True: its default tuning; a
    :class:`ShieldConfig`: that tuning, which the result records under ``shield``).
    ``records``: receives each controller's per-interval history (for plots).
    ``perturb`` and ``sensor_noise_c`` (as in :func:`cooling.simulation.simulate`): every
    controller runs on the same plant, off its spec by up to that fraction, and sees
    temperatures with that noise; the oracle still knows the true plant, and the shield
    keeps the nominal model: how a policy trained on the spec fares on a real plant.
    ``jobs`` > 1 runs the baselines' weeks in that many worker processes (spawned: a
    script calling this needs an ``if __name__ == "__main__":`` guard) while the policy
    runs here; every run is seeded, so the result is the same as with one.
    ``progress(controller, weeks done, weeks in all)`` is called after each week of each
    controller.
    """
    if weeks == "held-out":
        starts = list(EVAL_WEEK_START_DAYS)
    elif weeks == "validation":
        starts = list(VALIDATION_WEEK_START_DAYS)
    elif weeks == "all":
        starts = list(range(0, 364, 7))[:52]
    else:
        raise ValueError(f"weeks must be 'held-out', 'validation' or 'all' (got {weeks!r})")
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1 (got {jobs})")
    want = records is not None
    shield_config = shield if isinstance(shield, ShieldConfig) else None
    if shield_config is None and shield:
        shield_config = ShieldConfig()
    pool = None
    runs: dict[str, list[dict]] = {}
    names = (["policy"] if policy is not None else []) + list(controllers)
    try:
        if jobs > 1 and controllers:  # the baselines in worker processes, the policy here
            pool = ProcessPoolExecutor(min(jobs, len(controllers) * len(starts)),
                                       mp_context=multiprocessing.get_context("spawn"))  # fmt: skip
            futures = {(name, day): pool.submit(_baseline_week, spec, name, day, seed, perturb,
                                                sensor_noise_c, want)
                       for name in controllers for day in starts}  # fmt: skip
        for name in names:
            runs[name] = []
            for day in starts:
                if name == "policy":
                    record: list[dict] | None = [] if want else None
                    report = simulate(spec, policy, 7.0, day, (seed,), shield=shield_config,
                                      record=record, perturb=perturb,
                                      sensor_noise_c=sensor_noise_c)[0]  # fmt: skip
                elif pool is not None:
                    report, record = futures[name, day].result()
                else:
                    report, record = _baseline_week(spec, name, day, seed, perturb,
                                                    sensor_noise_c, want)  # fmt: skip
                if records is not None and record is not None:
                    records.setdefault(name, []).extend(record)
                runs[name].append(report)
                if progress is not None:
                    progress(name, sum(map(len, runs.values())), len(names) * len(starts))
    except BaseException:  # an error or an interrupt: leave the workers' weeks behind
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    if pool is not None:
        pool.shutdown()
    result = {name: _sum_reports(reports) for name, reports in runs.items()}
    out: dict = {"site": spec.name, "weeks": starts, "controllers": result}
    if shield_config is not None:  # the policy ran behind the shield, tuned so
        out["shield"] = dataclasses.asdict(shield_config)
    if perturb or sensor_noise_c:
        out["perturb"], out["sensor_noise_c"] = perturb, sensor_noise_c
    if getattr(policy, "weather_offset_days", 0):
        out["weather_offset_days"] = policy.weather_offset_days
    if policy is not None:
        p = result["policy"]
        out["cooling_saving_vs"] = {
            b: 1.0 - p["cooling_kwh"] / result[b]["cooling_kwh"] for b in controllers
        }
        kwh = {name: r["cooling_kwh"] for name, r in result.items()}
        if {"fixed", "oracle"} <= set(controllers):
            out["oracle_capture"] = oracle_capture(kwh, "fixed")
        if {"rules", "oracle"} <= set(controllers):
            out["oracle_capture_vs_rules"] = oracle_capture(kwh, "rules")
        steps = p["hours"] * 3600.0 / spec.interval_s
        above = p["minutes_above_recommended"] * 60.0 / spec.interval_s
        out["violation_step_fraction"] = above / steps
    return out


def oracle_capture(cooling_kwh: dict[str, float], base: str) -> float:
    """The share of the oracle's cooling saving against ``base`` that the policy reaches,
    η = (E_base − E_policy) / (E_base − E_oracle) (NaN where the oracle saves nothing)."""
    best = cooling_kwh[base] - cooling_kwh["oracle"]
    got = cooling_kwh[base] - cooling_kwh["policy"]
    return got / best if best > 0 else float("nan")


def refresh_card(card_path: Path, controllers: tuple[str, ...] = BASELINES, jobs: int = 1) -> dict:
    """Evaluate a model card's policy again, against the baselines as they are now.

    Stores the evaluation in the card with the command that prints it
    (``evaluation_command``) and returns the card; the policy and its training record are
    untouched. For when a baseline or the oracle has changed since the policy was trained.
    The policy is the file the card names, looked up beside the card.
    """
    from cooling.control.policy import load_policy
    from cooling.spec import load_site

    card = json.loads(card_path.read_text())
    spec = load_site(card["site"])
    policy_path = card_path.parent / Path(card["policy"]).name
    policy = load_policy(policy_path, spec)
    card["evaluation"] = evaluate(spec, policy, controllers=controllers, jobs=jobs)
    subset = "" if controllers == BASELINES else f" --baselines {','.join(controllers) or 'none'}"
    card["evaluation_command"] = (
        f"cooling evaluate --policy {card['policy']} --site {card['site']}{subset} --json"
    )
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return dict(card)


def with_traces(spec: SiteSpec, weather: str | None, workload: str | None) -> SiteSpec:
    """The site with another weather (EPW or reduced CSV) or workload file."""
    changes = {}
    if weather:
        changes["weather"] = str(Path(weather).resolve())
    if workload:
        changes["it"] = dataclasses.replace(spec.it, workload=str(Path(workload).resolve()))
    return replace_checked(spec, spec.name, **changes) if changes else spec
