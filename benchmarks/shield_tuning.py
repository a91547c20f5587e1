"""What the shield's pessimism costs the shipped policies, and what it buys in safety.

    .venv/bin/python benchmarks/shield_tuning.py [--robust-fractions 0,0.05,0.1]
        [--sites enterprise,hyperscale,highdensity] [--seeds N] [--jobs N] [--json]

The shield predicts the hottest inlet with the site spec's plant made ``robust_fraction``
worse in coil, tower and chiller capacity (``ShieldConfig.robust_fraction``, 0.1 by
default) and pulls back any proposal predicted within 0.5 K of 27 °C. For each value
and site this runs:

- the shipped policy behind the shield on the held-out weeks, on the nominal plant and on
  plants off their spec by up to 10 % with 0.2 K of sensor noise (``--seeds N``: N such
  plants, seeds 0 to N−1; over them the range of savings, the minutes above 27 °C added
  up and the hottest inlet), each against the
  rule-based controller on that same plant (``cooling evaluate --shield --baselines
  rules``, ``--perturb 0.1 --sensor-noise 0.2``): the saving the shield leaves, and the
  minutes above 27 °C;
- the random and the adversarial policies behind the shield for 30 days from day 166
  (mid-June) on a plant off its spec by up to 20 % with 0.2 K of noise (seed 1), as in
  ``benchmarks/shield.py``: the minutes above 27 °C and the hottest inlet.

One (value, site) pair per process with ``--jobs N``: about 4 minutes with ``--jobs 2``
on two cores, 5 with ``--seeds 5``.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def _fractions(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, e.g. 0,0.05,0.1 (got {text!r})"
        ) from None
    if not values or any(not 0.0 <= v <= 0.5 for v in values):
        raise argparse.ArgumentTypeError(f"each robust fraction must be in 0..0.5 (got {text!r})")
    return values


def run_one(
    site_name: str, robust_fraction: float, seeds: tuple[int, ...] = (0,)
) -> dict[str, Any]:
    """The figures of one site at one robust fraction (the off-spec plant drawn with each
    of ``seeds``)."""
    from cooling.control.baselines import make
    from cooling.control.policy import load_policy
    from cooling.control.safety import ShieldConfig
    from cooling.demo import SHIPPED
    from cooling.evaluate import evaluate
    from cooling.simulation import simulate
    from cooling.spec import load_site

    site = load_site(site_name)
    config = ShieldConfig(robust_fraction=robust_fraction)
    out: dict[str, Any] = {"site": site_name, "robust_fraction": robust_fraction}
    plants = [("nominal", 0, {})] + [
        ("10 % off + noise", seed, {"perturb": 0.1, "sensor_noise_c": 0.2}) for seed in seeds
    ]
    for plant, seed, kw in plants:
        ev = evaluate(site, load_policy(SHIPPED[site_name], site), shield=config,
                      controllers=("rules",), seed=seed, **kw)  # fmt: skip
        policy = ev["controllers"]["policy"]
        out.setdefault(plant, []).append({
            "seed": seed,
            "saving_vs_rules": ev["cooling_saving_vs"]["rules"],
            "minutes_above_recommended": policy["minutes_above_recommended"],
            "max_inlet_c": policy["max_inlet_c"],
            "shield_interventions": policy["shield_interventions"],
        })  # fmt: skip
    for name in ("random", "adversarial"):
        r = simulate(site, make(name, site), 30.0, 166.0, seeds=(1,), shield=config,
                     perturb=0.2, sensor_noise_c=0.2)[0]  # fmt: skip
        out[name] = {k: r[k] for k in ("minutes_above_recommended", "max_inlet_c")}
    return out


def _percent(x: float) -> str:
    """A share as the table prints it, with no "-0.0%" for a rounding of a tiny loss."""
    text = f"{x:.1%}"
    return "0.0%" if text == "-0.0%" else text


def table(results: list[dict[str, Any]], seeds: int) -> str:
    """The markdown table of :func:`run_one`'s results: per value and site, the policy's
    saving on the nominal plant, the range of its savings over the off-spec plants, the
    minutes above 27 °C added up over them, the hottest inlet of all; the hostile
    policies' minutes above 27 °C and hottest inlet."""
    off = "10 % off + noise" + (f" (seeds 0-{seeds - 1})" if seeds > 1 else "")
    lines = [
        "| robust fraction | site | policy behind the shield: vs rules | min > 27 °C "
        f"| hottest inlet | {off}: vs rules | min > 27 °C | hottest inlet "
        "| random, 20 % off + noise: min > 27 °C | hottest inlet "
        "| adversarial: min > 27 °C | hottest inlet |",
        "| --- " * 12 + "|",
    ]
    for r in results:
        cells = [f"{r['robust_fraction']:g}", r["site"]]
        for plant in ("nominal", "10 % off + noise"):
            runs = r[plant]
            lo = _percent(min(p["saving_vs_rules"] for p in runs))
            hi = _percent(max(p["saving_vs_rules"] for p in runs))
            cells += [lo if lo == hi else f"{lo} to {hi}",
                      f"{sum(p['minutes_above_recommended'] for p in runs):.0f}",
                      f"{max(p['max_inlet_c'] for p in runs):.1f} °C"]  # fmt: skip
        for name in ("random", "adversarial"):
            h = r[name]
            cells += [f"{h['minutes_above_recommended']:.0f}", f"{h['max_inlet_c']:.1f} °C"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--robust-fractions", type=_fractions, default=[0.0, 0.05, 0.1],
                    help="the shield model's pessimism to try (0,0.05,0.1)")  # fmt: skip
    ap.add_argument("--sites", default="enterprise,hyperscale,highdensity")
    ap.add_argument("--seeds", type=int, default=1,
                    help="off-spec plants drawn per site (seeds 0..N-1; 1)")  # fmt: skip
    ap.add_argument("--jobs", type=int, default=1, help="processes (one core each; 1)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from cooling.spec import site_names

    sites = [s.strip() for s in args.sites.split(",")]
    unknown = [s for s in sites if s not in site_names()]
    if unknown:
        ap.error(f"--sites: unknown {', '.join(unknown)}; shipped: {', '.join(site_names())}")
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1 (got {args.jobs})")
    if args.seeds < 1:
        ap.error(f"--seeds must be at least 1 (got {args.seeds})")
    seeds = tuple(range(args.seeds))
    pairs = [(s, f) for f in args.robust_fractions for s in sites]
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_one, s, f, seeds) for s, f in pairs]
        results = []
        for (s, f), future in zip(pairs, futures, strict=True):
            results.append(future.result())
            print(f"done: {s} at robust_fraction {f:g}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(results))
        return 0
    print(table(results, args.seeds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
