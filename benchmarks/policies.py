"""The shipped policies against the baselines on the held-out weeks: the README's table.

    .venv/bin/python benchmarks/policies.py [--rerun [--update-cards] [--jobs N]] [--variant V]

Reads each shipped model card's evaluation (what ``cooling evaluate --json`` printed at
the end of training); ``--rerun`` runs ``cooling evaluate`` again instead, and
``--update-cards`` writes that fresh evaluation into the card, with the command that
prints it as ``evaluation_command`` (for when a baseline or the oracle has changed since
training; the policy and its training record are untouched). ``--jobs N`` runs the
baselines' weeks in N processes (the same figures). ``--variant crah`` reads the policies
trained on the site variants ``envs/variants/SITE-crah.yaml`` instead
(``agents/SITE-crah-sac-seed0/``, each made by the command in its card): the table in
docs/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cooling.control.policy import load_policy
from cooling.demo import SHIPPED
from cooling.evaluate import evaluate, refresh_card
from cooling.spec import ENVS_DIR, load_site


def _share(value: float | None) -> str:
    """A capture as a percentage; "-" for a card written before it was reported."""
    return "-" if value is None else f"{value:.0%}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rerun", action="store_true", help="evaluate again instead of reading")
    ap.add_argument(
        "--update-cards", action="store_true", help="with --rerun: store it in the cards"
    )
    ap.add_argument("--jobs", type=int, default=1, help="with --rerun: processes (1)")
    ap.add_argument("--variant", help="the policies of envs/variants/SITE-VARIANT.yaml, e.g. crah")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1 (got {args.jobs})")
    if args.update_cards and not args.rerun:
        ap.error("--update-cards needs --rerun (it stores the fresh evaluation)")
    policies: dict[str, tuple[str | Path, Path]] = {s: (s, p) for s, p in SHIPPED.items()}
    if args.variant:
        policies = {}
        for site, path in SHIPPED.items():
            name = f"{site}-{args.variant}"
            spec_path = ENVS_DIR / "variants" / f"{name}.yaml"
            policy = path.parents[1] / f"{name}-sac-seed0" / "policy.zip"
            if not spec_path.is_file() or not policy.is_file():
                ap.error(f"--variant {args.variant}: no {spec_path} or no {policy}")
            policies[name] = (spec_path, policy)
    print("| site | policy PUE | rules PUE | oracle PUE | cooling saving vs fixed | vs rules "
          "| oracle capture | of the oracle's saving vs rules | steps > 27 °C "
          "| training wall time |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for site, (spec_ref, path) in policies.items():
        card_path = path.with_name("model_card.json")
        card = json.loads(card_path.read_text())
        if args.update_cards:
            card = refresh_card(card_path, jobs=args.jobs)
        elif args.rerun:
            spec = load_site(spec_ref)
            card["evaluation"] = evaluate(spec, load_policy(path, spec), jobs=args.jobs)
        ev = card["evaluation"]
        c = ev["controllers"]
        s = ev["cooling_saving_vs"]
        print(
            f"| {site} | {c['policy']['pue']:.3f} | {c['rules']['pue']:.3f} "
            f"| {c['oracle']['pue']:.3f} | {s['fixed']:.1%} | {s['rules']:.1%} "
            f"| {ev['oracle_capture']:.0%} | {_share(ev.get('oracle_capture_vs_rules'))} "
            f"| {ev['violation_step_fraction']:.2%} "
            f"| {card['wall_time_s']:.0f} s |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
