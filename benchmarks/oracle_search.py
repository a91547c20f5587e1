"""How far the oracle's search is from converged: one week, the default search and a wider one.

    .venv/bin/python benchmarks/oracle_search.py [--site hyperscale] [--day 203]
        [--population 128] [--iterations 5]

The oracle (``cooling.control.oracle``) plans by the cross-entropy method, a search: a
wider search that finds a cheaper plan shows how much the default one leaves, and so how
tight a bound its figures are. Runs the oracle with its default search (64 plans, 3
rounds) and with ``--population`` x ``--iterations``, each with its 0.5 K margin and with
none, on one week from ``--day``, and prints each one's cooling energy saved against the
rules, its hottest inlet and its wall time (about half a minute a run on one core for the
default search, a minute for 128 x 5).
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    from cooling.spec import site_names

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site", default="hyperscale", choices=site_names())
    ap.add_argument("--day", type=float, default=203.0, help="start day of the week (203)")
    ap.add_argument("--population", type=int, default=128, help="plans a round (128)")
    ap.add_argument("--iterations", type=int, default=5, help="rounds (5)")
    args = ap.parse_args(argv)
    if args.population < 8 or args.iterations < 1:
        ap.error("--population must be at least 8 (the elites) and --iterations at least 1")
    from cooling.control.baselines import make
    from cooling.control.oracle import OracleController
    from cooling.simulation import simulate
    from cooling.spec import load_site

    spec = load_site(args.site)
    rules = simulate(spec, make("rules", spec), 7.0, args.day, (0,))[0]["cooling_kwh"]
    wide = {"population": args.population, "iterations": args.iterations}
    default = OracleController(spec)
    print(f"{args.site}, the week from day {args.day:g}: the oracle's cooling saving against "
          f"the rules ({rules:,.0f} kWh)\n")  # fmt: skip
    print("| search | margin | vs rules | hottest inlet | wall time |")
    print("| --- | --- | --- | --- | --- |")
    for search, kw in ((f"default ({default.population} x {default.iterations})", {}),
                       (f"{args.population} x {args.iterations}", wide)):  # fmt: skip
        for margin in (0.5, 0.0):
            start = time.perf_counter()
            r = simulate(spec, OracleController(spec, margin_k=margin, **kw), 7.0, args.day,
                         (0,))[0]  # fmt: skip
            print(f"| {search} | {margin:g} K | {1.0 - r['cooling_kwh'] / rules:.2%} "
                  f"| {r['max_inlet_c']:.2f} °C | {time.perf_counter() - start:.0f} s |",
                  flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
