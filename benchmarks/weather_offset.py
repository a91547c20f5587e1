"""The shipped policies on weather that is not their typical year: docs/RESULTS.md's table.

    .venv/bin/python benchmarks/weather_offset.py [--offsets 0,7,-7] [--sites a,b] [--jobs N]

A policy's features read the outdoor air from the telemetry and forecast it by adding the
change of the site's typical-year weather; on a live site the weather is not the typical
year's. ``cooling evaluate --weather-offset-days D`` makes the typical year the policy
reads run D days ahead of the weather the plant meets (the same season, another week's
weather: a stand-in for a year that is not the typical one). For each shipped policy and
offset this prints the cooling energy saved against the rules on the held-out weeks (the
rules read only the telemetry, so their figure does not move), the minutes above 27 °C
and the hottest inlet, unshielded (about 3 minutes on one core; ``--jobs 2`` runs the
rules' weeks beside the policy).
"""

from __future__ import annotations

import argparse
import sys

from cooling.control.policy import load_policy
from cooling.demo import SHIPPED
from cooling.evaluate import evaluate
from cooling.spec import load_site


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--offsets", default="0,7,-7", help="days, comma-separated (0,7,-7)")
    ap.add_argument("--sites", default=",".join(SHIPPED), help="comma-separated (all shipped)")
    ap.add_argument("--jobs", type=int, default=1, help="processes for the rules' weeks (1)")
    args = ap.parse_args(argv)
    try:
        offsets = [int(d) for d in args.offsets.split(",")]
    except ValueError:
        ap.error(f"--offsets: whole numbers of days, comma-separated (got {args.offsets!r})")
    sites = [s.strip() for s in args.sites.split(",") if s.strip()]
    unknown = [s for s in sites if s not in SHIPPED]
    if unknown or not sites:
        ap.error(f"--sites: a comma-separated subset of {','.join(SHIPPED)} (got {args.sites!r})")
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1 (got {args.jobs})")
    print("| site | weather offset | policy vs rules | minutes > 27 °C | hottest inlet |")
    print("| --- | --- | --- | --- | --- |")
    for site in sites:
        path, spec = SHIPPED[site], load_site(site)
        for days in offsets:
            policy = load_policy(path, spec, weather_offset_days=days)
            r = evaluate(spec, policy, controllers=("rules",), jobs=args.jobs)
            p = r["controllers"]["policy"]
            print(f"| {site} | {days:+d} d | {r['cooling_saving_vs']['rules']:.1%} "
                  f"| {p['minutes_above_recommended']:.0f} | {p['max_inlet_c']:.1f} °C |",
                  flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
