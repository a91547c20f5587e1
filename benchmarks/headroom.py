"""How much cooling energy can any controller save against the rule-based one?

    .venv/bin/python benchmarks/headroom.py [--levels 9] [--crah-airflow MIN] [--site S] [--json]
    .venv/bin/python benchmarks/headroom.py --held-out [--crah-airflow MIN] [--site S] [--json]
    .venv/bin/python benchmarks/headroom.py --breakdown [--site S] [--json]

An upper bound at steady state: for representative weather and load held constant
(winter, shoulder, summer), every combination of the site's setpoints on a dense grid
(``levels`` values per continuous setpoint, economizer on and off) is simulated until the
plant has settled; the cheapest combination whose hottest rack inlet stays 0.5 K below
27 °C is compared with the rule-based controller (run closed-loop to its own steady state)
and with the legacy fixed setpoints. Cooling power = the plant's ``cooling_kw`` (chillers,
towers, pumps, CRAH fans). Dynamics (thermal mass, forecasts) can add to this bound only
where conditions change; the held-out weeks' oracle saving is the dynamic measure.

``--held-out`` measures that dynamic headroom on the held-out weeks themselves (days 21,
112, 203, 294, a simulated week each): the cooling energy of the rules, of the
perfect-knowledge oracle as ``cooling evaluate`` runs it (2-hour plans, 0.5 K below
27 °C), of the same oracle with no margin (inlets up to 27.0 °C, the limit the policies
are judged by) and of the shipped policy, each week's saving against the rules (about
10 minutes for the three sites on two cores).

``--breakdown`` says where the cooling energy goes on the held-out weeks, for the fixed
setpoints, the rules, the oracle and the shipped policy (as ``cooling evaluate`` runs
them): the share of chillers, towers, chilled- and condenser-water pumps and CRAH fans,
and how much each part changes against the rules. It shows what no setpoint reaches:
the CRAH fans follow the servers' air flow whatever the setpoints of the shipped sites
do (about 3 minutes on two cores).

``--crah-airflow MIN`` asks the same questions of a plant whose controllers may also turn
the CRAH fans down, to MIN times the flow that holds the design airflow ratio (the
``crah_airflow`` setpoint over MIN..1.0, ramp 0.1 per interval), which no shipped site
exposes: the grid (one more axis: about a minute) and the oracle search it, the rules
trim the fans on the hottest inlet (``RuleController``), the fixed setpoints keep the
design ratio (1.0), and the held-out table has no policy column (the shipped policies do
not set it).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import math
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from cooling.control.baselines import make
from cooling.plant import plant as pm
from cooling.setpoints import NAMES, fixed_vector
from cooling.spec import CRAH_AIRFLOW_RANGE, SiteSpec, load_site, site_names, with_crah_airflow

CONDITIONS = {"winter": (5.0, 2.0, 0.6), "shoulder": (20.0, 15.0, 0.7),
              "summer": (33.0, 24.0, 0.8)}  # dry-bulb °C, wet-bulb °C, IT load  # fmt: skip
SETTLE_STEPS, AVERAGE_STEPS = 36, 12  # 3 h at 5 min, averaged over the last hour


Airflow = float | None  # the lowest CRAH air flow controllers may set, if any


def site_spec(site: str, airflow: Airflow = None) -> SiteSpec:
    """The shipped site, with the CRAH air flow exposed over ``airflow``..1.0 when given."""
    spec = load_site(site)
    return spec if airflow is None else with_crah_airflow(spec, airflow)


def settled(spec, setpoints: np.ndarray, dist_row: list[float]):
    """Mean cooling kW and hottest inlet over the last hour of 3 h held (N candidates)."""
    n = setpoints.shape[0]
    params = pm.params_from_spec(spec).repeat(n)
    dist = pm.Disturbances(np.tile(dist_row, (n, 1)))
    sp = pm.Setpoints(np.ascontiguousarray(setpoints))
    state = pm.initial_state(params, sp, dist)
    cooling, overhead, worst = np.zeros(n), np.zeros(n), np.full(n, -np.inf)
    for k in range(SETTLE_STEPS):
        state, tel = pm.step(state, sp, dist, params, check=False)
        if k >= SETTLE_STEPS - AVERAGE_STEPS:
            cooling += tel.cooling_kw / AVERAGE_STEPS
            overhead += (tel.facility_kw - tel.it_compute_kw) / AVERAGE_STEPS
            worst = np.maximum(worst, tel.inlet_max_c)
    return cooling, overhead, worst


def rules_settled(spec, dist_row: list[float]) -> tuple[float, float, float]:
    ctl = make("rules", spec)
    ctl.reset(1)
    params = pm.params_from_spec(spec)
    dist = pm.Disturbances(np.array([dist_row]))
    sp = pm.Setpoints(fixed_vector(spec)[None, :].copy())
    state = pm.initial_state(params, sp, dist)
    state, tel = pm.step(state, sp, dist, params)
    cooling, overhead, worst = [], [], -np.inf
    for k in range(72):  # 6 h closed loop, the last 2 h averaged (its trim-and-respond sawtooth)
        sp = ctl(tel, None)
        state, tel = pm.step(state, sp, dist, params)
        if k >= 48:
            cooling.append(float(tel.cooling_kw[0]))
            overhead.append(float(tel.facility_kw[0] - tel.it_compute_kw[0]))
            worst = max(worst, float(tel.inlet_max_c[0]))
    return float(np.mean(cooling)), float(np.mean(overhead)), worst


def headroom(site: str, levels: int, airflow: Airflow = None) -> list[dict]:
    spec = site_spec(site, airflow)
    fixed = fixed_vector(spec)
    axes = []
    for j, name in enumerate(NAMES):
        r = getattr(spec.setpoints, name)
        if r is None:
            axes.append([fixed[j]])
        elif name == "economizer":
            axes.append([0.0, 1.0])
        elif name == "crah_airflow":  # the design ratio always among the candidates
            axes.append(list(np.union1d(np.linspace(r.min, r.max, levels), [fixed[j]])))
        else:
            axes.append(list(np.linspace(r.min, r.max, levels)))
    grid = np.array(list(itertools.product(*axes)))
    limit = spec.envelope.recommended_high_c - 0.5
    rows = []
    for label, (db, wb, load) in CONDITIONS.items():
        dist_row = [db, wb, spec.it.capacity_kw * load]
        cooling, overhead, worst = settled(spec, grid, dist_row)
        # the best by what the oracle and the reward minimise (facility − compute IT:
        # cooling plus server fans and losses), and by cooling power alone
        best = int(np.argmin(np.where(worst <= limit, overhead, np.inf)))
        best_cooling = int(np.argmin(np.where(worst <= limit, cooling, np.inf)))
        f_cool, f_over, _ = (float(x[0]) for x in settled(spec, fixed[None, :], dist_row))
        r_cool, r_over, rules_inlet = rules_settled(spec, dist_row)
        rows.append({
            "site": site, "condition": label, "candidates": len(grid),
            "cooling_kw": {"fixed": f_cool, "rules": r_cool, "best": float(cooling[best]),
                           "best_cooling_only": float(cooling[best_cooling])},
            "overhead_kw": {"fixed": f_over, "rules": r_over, "best": float(overhead[best])},
            "best_vs_rules": 1.0 - float(cooling[best]) / r_cool,
            "best_vs_fixed": 1.0 - float(cooling[best]) / f_cool,
            "best_cooling_only_vs_rules": 1.0 - float(cooling[best_cooling]) / r_cool,
            "overhead_best_vs_rules": 1.0 - float(overhead[best]) / r_over,
            "best_setpoints": {n: float(v) for n, v in zip(NAMES, grid[best], strict=True)},
            "best_inlet_c": float(worst[best]), "rules_inlet_c": rules_inlet,
        })  # fmt: skip
    return rows


def held_out(site: str, airflow: Airflow = None) -> list[dict]:
    """Per held-out week: cooling kWh of rules, both oracles and the shipped policy (not
    with ``airflow``: the shipped policies do not set the CRAH air flow)."""
    from cooling.control.oracle import OracleController
    from cooling.control.policy import load_policy
    from cooling.demo import SHIPPED
    from cooling.env.core import EVAL_WEEK_START_DAYS
    from cooling.simulation import simulate

    spec = site_spec(site, airflow)
    rows = []
    for day in EVAL_WEEK_START_DAYS:
        controllers = {
            "rules": make("rules", spec),
            "oracle": OracleController(spec),
            "oracle_no_margin": OracleController(spec, margin_k=0.0),
        }
        if airflow is None:
            controllers["policy"] = load_policy(SHIPPED[site], spec)
        kwh = {n: simulate(spec, c, 7.0, day, (0,))[0]["cooling_kwh"]
               for n, c in controllers.items()}  # fmt: skip
        rows.append({"site": site, "day": day, "cooling_kwh": kwh,
                     "saving_vs_rules": {n: 1.0 - v / kwh["rules"] for n, v in kwh.items()
                                         if n != "rules"}})  # fmt: skip
    total = {n: sum(r["cooling_kwh"][n] for r in rows) for n in rows[0]["cooling_kwh"]}
    rows.append({"site": site, "day": "all", "cooling_kwh": total,
                 "saving_vs_rules": {n: 1.0 - v / total["rules"] for n, v in total.items()
                                     if n != "rules"}})  # fmt: skip
    return rows


PARTS = ("chillers", "towers", "chw_pumps", "cw_pumps", "crah_fans")


def breakdown(site: str) -> list[dict]:
    """Per controller, held-out weeks: cooling kWh and its parts."""
    from cooling.control.policy import load_policy
    from cooling.demo import SHIPPED
    from cooling.evaluate import evaluate

    spec = load_site(site)
    ev = evaluate(spec, load_policy(SHIPPED[site], spec))
    return [{"site": site, "controller": name, "cooling_kwh": r["cooling_kwh"],
             "parts_kwh": {k: r["cooling_breakdown_kwh"][k] for k in PARTS}}
            for name in ("fixed", "rules", "oracle", "policy")
            for r in [ev["controllers"][name]]]  # fmt: skip


def _airflow_min(text: str) -> float:
    """The lowest CRAH air flow, within the spec's physical 0.5..1.0 (1.0 excluded)."""
    try:
        lo = float(text)
    except ValueError:
        lo = math.nan
    if not CRAH_AIRFLOW_RANGE[0] <= lo < CRAH_AIRFLOW_RANGE[1]:
        raise argparse.ArgumentTypeError(
            f"a fraction of the design-ratio air flow, 0.5 <= MIN < 1.0, e.g. 0.8 (got {text!r})"
        )
    return lo


def _per_site(table: Callable[[str], list[dict]], sites: list[str]) -> list[dict]:
    """``table(site)`` for each site, one site per core, rows in site order."""
    with ProcessPoolExecutor() as pool:
        return [r for site_rows in pool.map(table, sites) for r in site_rows]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--levels", type=int, default=9, help="grid values per setpoint (9)")
    ap.add_argument("--held-out", action="store_true", help="dynamic headroom, held-out weeks")
    ap.add_argument("--breakdown", action="store_true",
                    help="where the cooling energy goes, held-out weeks")  # fmt: skip
    ap.add_argument("--crah-airflow", type=_airflow_min, metavar="MIN",
                    help="also let the grid and the oracle turn the CRAH air flow down to MIN "
                         "(fraction of the design-ratio flow), e.g. 0.8")  # fmt: skip
    ap.add_argument("--site", choices=site_names(), help="one site (default: every site)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    sites = [args.site] if args.site else site_names()
    if args.held_out and args.breakdown:
        ap.error("--held-out and --breakdown are two different tables: give one")
    if args.breakdown and args.crah_airflow is not None:
        ap.error("--breakdown is of the shipped policies, which do not set the CRAH air flow")
    airflow = args.crah_airflow
    if args.breakdown:
        rows = _per_site(breakdown, sites)
        if args.json:
            print(json.dumps(rows))
            return 0
        print("| site | controller | cooling kWh | " + " | ".join(PARTS) + " |")
        print("| --- | --- | --- | " + " | ".join("---" for _ in PARTS) + " |")
        rules = {r["site"]: r for r in rows if r["controller"] == "rules"}
        for r in rows:
            base = rules[r["site"]]["parts_kwh"]
            cells = []
            for k in PARTS:
                share = r["parts_kwh"][k] / r["cooling_kwh"]
                change = r["parts_kwh"][k] / base[k] - 1.0 if base[k] > 0 else float("nan")
                vs = "" if r["controller"] == "rules" else f" ({change:+.0%})"
                cells.append(f"{share:.0%}{vs}")
            print(f"| {r['site']} | {r['controller']} | {r['cooling_kwh']:,.0f} | "
                  + " | ".join(cells) + " |")  # fmt: skip
        print("\nEach part: its share of the controller's cooling energy (its change against "
              "the rules).")  # fmt: skip
        return 0
    if args.held_out:
        rows = _per_site(functools.partial(held_out, airflow=airflow), sites)
        if args.json:
            print(json.dumps(rows))
            return 0
        print("| site | week from day | rules cooling kWh | oracle vs rules | oracle, no "
              "margin, vs rules | shipped policy vs rules |")  # fmt: skip
        print("| --- | --- | --- | --- | --- | --- |")
        for r in rows:
            s = r["saving_vs_rules"]
            policy = f"{s['policy']:.1%}" if "policy" in s else "-"
            print(f"| {r['site']} | {r['day']} | {r['cooling_kwh']['rules']:,.0f} "
                  f"| {s['oracle']:.1%} | {s['oracle_no_margin']:.1%} "
                  f"| {policy} |")  # fmt: skip
        return 0
    rows = [r for site in sites for r in headroom(site, args.levels, airflow)]
    if args.json:
        print(json.dumps(rows))
        return 0
    extra = " best CRAH air flow |" if airflow is not None else ""
    print("| site | condition | cooling kW: fixed | rules | best | best vs rules | best vs "
          "fixed | overhead: best vs rules | cooling-only best vs rules |" + extra)  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |" + (" --- |" if extra else ""))
    for r in rows:
        c = r["cooling_kw"]
        print(f"| {r['site']} | {r['condition']} | {c['fixed']:,.0f} | {c['rules']:,.0f} | "
              f"{c['best']:,.0f} | {r['best_vs_rules']:.1%} | {r['best_vs_fixed']:.1%} | "
              f"{r['overhead_best_vs_rules']:.1%} | "
              f"{r['best_cooling_only_vs_rules']:.1%} |"
              + (f" {r['best_setpoints']['crah_airflow']:.2f} |" if extra else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
