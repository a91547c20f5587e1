"""The safety shield against hostile policies, on every site: the README's figures.

    .venv/bin/python benchmarks/shield.py [--days 30] [--start 166] [--json]
                                          [--policy-cost-only | --oracle-cost-only]

For each site: the rule-based controller unshielded (the reference), then the random,
adversarial and NaN-emitting policies behind the shield, on the nominal plant and on a
plant whose parameters are off the shield's model by up to 20 % with 0.2 K sensor noise
(seed 1); and the share of the energy saving (facility energy against fixed setpoints)
that the shield costs a good policy: the shipped one on the held-out weeks, and the
oracle over one week.
"""

from __future__ import annotations

import argparse
import json
import sys

from cooling.control.baselines import make
from cooling.control.safety import ShieldConfig
from cooling.simulation import simulate
from cooling.spec import load_site, site_names


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--start", type=float, default=166.0, help="start day (166: mid-June)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--policy-cost-only", action="store_true",
                    help="only the shield's cost to the shipped policies")  # fmt: skip
    ap.add_argument("--oracle-cost-only", action="store_true",
                    help="only the shield's cost to the oracle over one week")  # fmt: skip
    args = ap.parse_args(argv)
    if args.policy_cost_only and args.oracle_cost_only:
        ap.error("--policy-cost-only and --oracle-cost-only are exclusive")
    if args.oracle_cost_only:
        costs = {s: _oracle_cost(load_site(s), args.start) for s in site_names()}
        print(json.dumps(costs) if args.json else "Share of the saving against fixed setpoints "
              f"that the shield costs the oracle over one week from day {args.start:g}: "
              + ", ".join(f"{s} {c:.1%}" for s, c in costs.items()))  # fmt: skip
        return 0
    if args.policy_cost_only:
        costs = {s: _policy_cost(load_site(s)) for s in site_names()}
        print(json.dumps(costs) if args.json else "Share of the saving against fixed setpoints "
              "that the shield costs the shipped policy on the held-out weeks: "
              + ", ".join(f"{s} {c:.2%}" for s, c in costs.items()))  # fmt: skip
        return 0
    rows = []
    costs = {}
    policy_costs = {}
    for site_name in site_names():
        site = load_site(site_name)
        ref = simulate(site, make("rules", site), args.days, args.start)[0]
        rows.append((site_name, "rules (unshielded)", "nominal", ref))
        for plant, kw in (
            ("nominal", {}),
            ("20 % off + noise", {"perturb": 0.2, "sensor_noise_c": 0.2, "seeds": (1,)}),
        ):
            for name in ("random", "adversarial", "nan"):
                r = simulate(
                    site, make(name, site), args.days, args.start, shield=ShieldConfig(), **kw
                )[0]
                rows.append((site_name, name, plant, r))
                print(f"{site_name} {name} {plant}: done", file=sys.stderr)
        costs[site_name] = _oracle_cost(site, args.start)
        policy_costs[site_name] = _policy_cost(site)
    if args.json:
        out = [
            {"site": s, "policy": p, "plant": pl, **{k: r[k] for k in _KEYS if k in r}}
            for s, p, pl, r in rows
        ]
        print(
            json.dumps(
                {
                    "days": args.days,
                    "runs": out,
                    "oracle_saving_cost": costs,
                    "policy_saving_cost": policy_costs,
                }
            )
        )
        return 0
    print(f"{args.days:g} days from day {args.start:g} (`benchmarks/shield.py`).\n")
    print("| site | policy | plant | min > 27 °C | min > 32 °C | max inlet °C "
          "| interventions | fallback steps |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for s, p, pl, r in rows:
        print(
            f"| {s} | {p} | {pl} | {r['minutes_above_recommended']:.0f} "
            f"| {r['minutes_above_allowable']:.0f} | {r['max_inlet_c']:.1f} "
            f"| {r.get('shield_interventions', '-')} | {r.get('fallback_steps', '-')} |"
        )
    shipped = ", ".join(f"{s} {c:.2%}" for s, c in policy_costs.items())
    oracle = ", ".join(f"{s} {c:.1%}" for s, c in costs.items())
    print(
        "\nShare of the saving against fixed setpoints that the shield costs: the shipped "
        f"policy on the held-out weeks: {shipped}; the oracle over one week: {oracle}."
    )
    return 0


def _oracle_cost(site, start: float) -> float:
    """Share of the oracle's facility-energy saving against fixed that the shield costs,
    one week from day ``start``."""
    fixed = simulate(site, make("fixed", site), 7, start)[0]["facility_kwh"]
    bare = simulate(site, make("oracle", site), 7, start)[0]["facility_kwh"]
    shielded = simulate(site, make("oracle", site), 7, start, shield=ShieldConfig())[0]
    return 1.0 - (fixed - shielded["facility_kwh"]) / (fixed - bare)


def _policy_cost(site) -> float:
    from cooling.control.policy import load_policy
    from cooling.demo import SHIPPED
    from cooling.evaluate import evaluate

    bare = evaluate(site, load_policy(SHIPPED[site.name], site), controllers=("fixed",))
    shielded = evaluate(site, load_policy(SHIPPED[site.name], site), shield=True, controllers=())
    fixed = bare["controllers"]["fixed"]["facility_kwh"]
    saving = fixed - bare["controllers"]["policy"]["facility_kwh"]
    saving_shielded = fixed - shielded["controllers"]["policy"]["facility_kwh"]
    return 1.0 - saving_shielded / saving


_KEYS = (
    "minutes_above_recommended",
    "minutes_above_allowable",
    "max_inlet_c",
    "shield_interventions",
    "fallback_steps",
    "cooling_kwh",
)

if __name__ == "__main__":
    sys.exit(main())
