"""Runs scored again on the validation episodes, as training scored their checkpoints.

    .venv/bin/python benchmarks/validation.py RUN_DIR [RUN_DIR ...]

Prints each run's mean reward on the validation episodes now, beside the one its model
card recorded when training kept the checkpoint. The two differ only where the plant, the
traces or the reward changed since: this is how a run trained before such a change is
compared with one trained after it (``benchmarks/algorithms.py`` names the best run from
the cards' figures, which compare only among runs trained on the same code).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="run folders (policy.zip, model_card.json)")
    args = ap.parse_args(argv)
    from cooling.train import validation_reward

    print("| run | validation reward now | in its card |")
    print("| --- | --- | --- |")
    for run in args.runs:
        if not (run / "policy.zip").is_file():
            print(f"{run}: no policy.zip in this folder", file=sys.stderr)
            return 2
        recorded = json.loads((run / "model_card.json").read_text())["selection"]
        now = validation_reward(run / "policy.zip")
        before = recorded.get("best_mean_reward")
        print(f"| {run} | {now:,.1f} | {'-' if before is None else f'{before:,.1f}'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
