"""SAC, PPO and TD3 and the spread over seeds, on one site's held-out weeks.

    .venv/bin/python benchmarks/algorithms.py [--site highdensity]
        [--runs sac:0,sac:1,sac:2,ppo:0,td3:0] [--out out/runs] [--summary-only]

Each run is one training command, ``cooling train --recipe agents/ALGO.yaml --site SITE
--seed S --out OUT/SITE-ALGO-seedS``, exactly as a researcher would type it (4-12 min a
run on one core for the shipped recipes). A run whose model card is already there (in
OUT, or the shipped one in ``agents/``) with that same recipe, site and seed is not
trained again, so the script can be stopped and resumed; ``--summary-only`` trains
nothing and summarises the cards found. The table gives each
run's evaluation on the held-out weeks (its model card's, the same as ``cooling evaluate
--json``) and, per algorithm with several seeds, the mean and the spread (sample
standard deviation) of its saving against the rules.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _runs(text: str) -> list[tuple[str, int]]:
    runs = []
    for item in text.split(","):
        algo, _, seed = item.strip().partition(":")
        if algo not in ("sac", "ppo", "td3") or not seed.lstrip("-").isdigit():
            raise argparse.ArgumentTypeError(
                f"run {item!r}: expected ALGO:SEED with ALGO one of sac, ppo, td3 (e.g. sac:1)"
            )
        runs.append((algo, int(seed)))
    return runs


def as_dict(recipe: Any) -> dict[str, Any]:
    """A recipe's fields as JSON would give them back (tuples as lists)."""
    fields = {k: getattr(recipe, k) for k in type(recipe).__dataclass_fields__}
    out: dict[str, Any] = json.loads(json.dumps(fields))
    return out


def command(site: str, algo: str, seed: int, out: Path) -> list[str]:
    return ["cooling", "train", "--recipe", f"agents/{algo}.yaml", "--site", site,
            "--seed", str(seed), "--out", str(out), "--no-progress"]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site", default="highdensity")
    ap.add_argument("--runs", type=_runs, default=_runs("sac:0,sac:1,sac:2,ppo:0,td3:0"))
    ap.add_argument("--out", type=Path, default=Path("out/runs"), help="run folders (out/runs)")
    ap.add_argument("--summary-only", action="store_true", help="train nothing")
    args = ap.parse_args(argv)
    if not args.out.is_absolute():  # training runs in the repository root
        args.out = ROOT / args.out
    from cooling.train import Recipe, load_recipe

    cards = []
    for algo, seed in args.runs:
        recipe = load_recipe(ROOT / "agents" / f"{algo}.yaml", site=args.site, seed=seed)
        wanted = as_dict(recipe)
        name = f"{args.site}-{algo}-seed{seed}"
        out = args.out / name
        cmd = command(args.site, algo, seed, out)
        card, done = None, False
        for folder in (ROOT / "agents" / name, out):
            path = folder / "model_card.json"
            if path.is_file():
                card = json.loads(path.read_text())
                # a card written before a recipe field existed has that field's default
                if as_dict(Recipe(**card["recipe"])) == wanted:
                    done = True
                    break
        card_path = out / "model_card.json"
        if not done and not args.summary_only:
            print(f"training: {' '.join(cmd)}", file=sys.stderr, flush=True)
            subprocess.run([sys.executable, "-m", "cooling.cli", *cmd[1:]], cwd=ROOT,
                           check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            card, done = json.loads(card_path.read_text()), True
        if not done:
            print(f"missing: {name} with the current recipe (run without --summary-only)",
                  file=sys.stderr)  # fmt: skip
            continue
        cards.append((algo, seed, card))
    if not cards:
        return 1
    print(f"{args.site}, held-out weeks (days 21, 112, 203, 294), no shield:\n")
    print("| algorithm | seed | steps | wall time | cooling saving vs fixed | vs rules "
          "| oracle capture | steps > 27 °C | hottest inlet |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    by_algo: dict[str, list[float]] = {}
    for algo, seed, card in cards:
        ev = card["evaluation"]
        s = ev["cooling_saving_vs"]
        by_algo.setdefault(algo, []).append(s["rules"])
        print(
            f"| {algo.upper()} | {seed} | {card['steps']:,} | {card['wall_time_s']:.0f} s "
            f"| {s['fixed']:.1%} | {s['rules']:.1%} | {ev['oracle_capture']:.0%} "
            f"| {ev['violation_step_fraction']:.2%} "
            f"| {ev['controllers']['policy']['max_inlet_c']:.1f} °C |"
        )
    for algo, savings in by_algo.items():
        if len(savings) > 1:
            print(f"\n{algo.upper()} over {len(savings)} seeds: saving vs rules "
                  f"{statistics.mean(savings):.1%} ± {statistics.stdev(savings):.1%} "
                  f"(min {min(savings):.1%}, max {max(savings):.1%})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
