"""Learning curves of trained runs on the validation episodes, from their model cards.

    .venv/bin/python benchmarks/curves.py [RUN_DIR ...] [--plot out/curves.png]

Every evaluation a training made of its policy on the validation weeks (days 56, 147,
238, 329; the same episodes for every run) is in its model card's ``selection.curve``,
so the curve ships with the policy. This prints, for each run (by default the shipped
policies in ``agents/``), how many evaluations it made, where the kept checkpoint lies,
and how much the last evaluations still move (the spread of the last five, the same
measure for every run), and draws the curves, one panel a site, the kept checkpoint
marked. A run whose card has no curve (written before commit eda6b1e) is named and left out.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def curve(card: dict[str, Any]) -> tuple[list[int], list[float]] | None:
    """A card's validation curve (steps, mean rewards), or None where it has none."""
    recorded = card.get("selection", {}).get("curve")
    if not recorded or not recorded["steps"]:
        return None
    return list(recorded["steps"]), list(recorded["mean_rewards"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="*", type=Path,
                    help="run folders with a model_card.json (default: agents/*/)")  # fmt: skip
    ap.add_argument("--plot", type=Path, default=Path("out/curves.png"),
                    help="where to draw the curves (out/curves.png)")  # fmt: skip
    args = ap.parse_args(argv)
    runs = args.runs or sorted(p.parent for p in (ROOT / "agents").glob("*/model_card.json"))
    rows: list[tuple[str, str, list[int], list[float], int]] = []
    for run in runs:
        path = run / "model_card.json"
        if not path.is_file():
            ap.error(f"{run}: no model_card.json there (a folder `cooling train` wrote)")
        card = json.loads(path.read_text())
        found = curve(card)
        if found is None:
            print(f"{run}: its model card has no validation curve (trained before cards "
                  "carried one); left out", file=sys.stderr)  # fmt: skip
            continue
        rows.append((run.name, card["site"], *found, card["selection"]["best_step"]))
    if not rows:
        print("no run with a validation curve: train one with `cooling train`",
              file=sys.stderr)  # fmt: skip
        return 1
    print("| run | evaluations | kept at step | of | mean reward kept | spread of the last five |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, _, steps, rewards, best in rows:
        tail = rewards[-5:]
        spread = statistics.stdev(tail) if len(tail) > 1 else 0.0
        print(f"| {name} | {len(steps)} | {best:,} | {steps[-1]:,} "
              f"| {rewards[steps.index(best)]:,.1f} | {spread:.1f} |")  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sites = sorted({site for _, site, *_ in rows})
    fig, axes = plt.subplots(1, len(sites), figsize=(5 * len(sites), 3.6), squeeze=False)
    for ax, site in zip(axes[0], sites, strict=True):
        for name, s, steps, rewards, best in rows:
            if s != site:
                continue
            (line,) = ax.plot([t / 1e6 for t in steps], rewards, label=name, lw=1.2)
            ax.plot(best / 1e6, rewards[steps.index(best)], "o", color=line.get_color())
        ax.set_title(site)
        ax.set_xlabel("environment steps (millions)")
        ax.set_ylabel("mean reward, validation weeks")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=120)
    print(f"\nplot written to {args.plot.resolve()} (a dot marks the checkpoint each run kept)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
