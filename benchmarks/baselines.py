"""Baseline controllers on every site over a simulated year: the README's table.

    .venv/bin/python benchmarks/baselines.py [--days 365] [--sites ...] [--jobs N] [--json]

Runs fixed, rules, pid and oracle on each shipped site from 1 January (seed 0) and
prints a Markdown table (site × controller: PUE, cooling kWh, facility kWh, water,
minutes above the recommended and allowable limits, max inlet) and each controller's
cooling saving against fixed. The oracle takes about 20 minutes per site-year on one
core, so the runs go to ``--jobs`` worker processes (default: one per core).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from cooling.control.baselines import make
from cooling.simulation import simulate
from cooling.spec import SpecError, load_site, site_names

CONTROLLERS = ("fixed", "rules", "pid", "oracle")


def run(site: str, name: str, days: float) -> dict:
    """One controller on one site from 1 January, seed 0, with its wall time."""
    spec = load_site(site)
    t0 = time.perf_counter()
    report = simulate(spec, make(name, spec), days, 0.0, seeds=(0,))[0]
    report["wall_s"] = round(time.perf_counter() - t0, 1)
    print(f"{site} {name}: {report['wall_s']} s", file=sys.stderr, flush=True)
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--sites", nargs="*", default=site_names())
    ap.add_argument("--controllers", nargs="*", default=list(CONTROLLERS))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error(f"--jobs must be >= 1 (got {args.jobs})")
    if not args.sites or not args.controllers:
        ap.error("give at least one site and one controller")
    for site in args.sites:
        try:
            load_site(site)  # a shipped site's name or a spec file
        except (SpecError, OSError) as e:
            ap.error(str(e))
    for name in args.controllers:
        if name not in CONTROLLERS:
            ap.error(f"unknown controller {name!r}; choose from {', '.join(CONTROLLERS)}")
    runs = [(site, name) for site in args.sites for name in args.controllers]
    # the oracle first: it is the long pole
    order = sorted(runs, key=lambda r: r[1] != "oracle")
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {r: pool.submit(run, *r, args.days) for r in order}
        try:
            results = {site: {name: futures[(site, name)].result() for name in args.controllers}
                       for site in args.sites}  # fmt: skip
        except BaseException:
            pool.shutdown(cancel_futures=True)  # do not wait for the other site-years
            raise
    if args.json:
        print(json.dumps({"days": args.days, "results": results}))
        return 0
    print(f"Simulated {args.days:g} days from 1 January, seed 0 (`benchmarks/baselines.py`).\n")
    print(
        "| site | controller | PUE | cooling kWh | saving vs fixed | facility kWh | water m³ "
        "| min > 27 °C | min > 32 °C | max inlet °C |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for site, by in results.items():
        fixed = by.get("fixed", {}).get("cooling_kwh")
        for name, r in by.items():
            saving = f"{1 - r['cooling_kwh'] / fixed:.1%}" if fixed else "-"
            print(
                f"| {site} | {name} | {r['pue']:.3f} | {r['cooling_kwh']:,.0f} | {saving} "
                f"| {r['facility_kwh']:,.0f} | {r['water_l'] / 1000:,.0f} "
                f"| {r['minutes_above_recommended']:.0f} | {r['minutes_above_allowable']:.0f} "
                f"| {r['max_inlet_c']:.1f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
