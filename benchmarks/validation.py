"""Runs scored again on the validation episodes, as training scores its checkpoints.

    .venv/bin/python benchmarks/validation.py RUN_DIR [RUN_DIR ...]

Prints each run's mean reward on today's validation episodes (with today's plant, traces
and reward), beside the one its model card recorded when training kept the checkpoint.
For a run scored on the fixed validation episodes (its card's ``selection.seed``), the
two differ only where the plant, the traces or the reward changed since; a card from
before those episodes were fixed recorded a score on other episodes, and one from before
checkpoints were chosen on validation recorded none. This is how runs trained before such
a change compare with runs trained after it (``benchmarks/algorithms.py --rescore`` does
the same for its table).
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
    from cooling.train import VALIDATION_SEED, validation_reward

    print("| run | validation reward now | in its card |")
    print("| --- | --- | --- |")
    for run in args.runs:
        if not (run / "policy.zip").is_file() or not (run / "model_card.json").is_file():
            print(f"{run}: a run folder holds policy.zip and model_card.json", file=sys.stderr)
            return 2
        recorded = json.loads((run / "model_card.json").read_text()).get("selection", {})
        now = validation_reward(run / "policy.zip")
        before = recorded.get("best_mean_reward")
        if before is None:
            then = "- (chosen on the held-out weeks)"
        elif recorded.get("seed") != VALIDATION_SEED:
            then = f"{before:,.1f} (on other episodes)"
        else:
            then = f"{before:,.1f}"
        print(f"| {run} | {now:,.1f} | {then} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
