"""SAC, PPO and TD3 and the spread over seeds, on one site's held-out weeks.

    .venv/bin/python benchmarks/algorithms.py [--site highdensity] [--jobs N]
        [--runs sac:0,sac:1,sac:2,ppo:0,ppo:1,ppo:2,td3:0,td3:1,td3:2] [--steps N]
        [--out out/runs] [--summary-only] [--reevaluate] [--rescore] [--behind-shield]

Each run is one training command, ``cooling train --recipe agents/ALGO.yaml --site SITE
--seed S --out OUT/SITE-ALGO-seedS``, exactly as a researcher would type it (4-12 min a
run on one core for the shipped recipes). SITE is a shipped site's name or a spec's path
(``envs/variants/enterprise-crah.yaml``, whose runs go by its spec's ``name``,
``enterprise-crah-ALGO-seedS``, as in ``agents/``). ALGO may name any recipe in ``agents/``: a
variant of a shipped recipe saved there as ``agents/NAME.yaml`` runs as ``NAME:SEED``,
beside the others in the table, so that a change of hyperparameters is judged over
seeds on the same validation episodes. A run whose model card is already there (in
OUT, or the shipped one in ``agents/``) with that same recipe, site and seed is not
trained again (unless its checkpoint was chosen the old way: a card without
``selection``, on the held-out weeks, or without ``selection.seed``, on validation
episodes that changed between evaluations), so
the script can be stopped and resumed. ``--steps N`` gives every run N environment steps
instead of its recipe's: the command gets ``--steps N`` and writes to
``OUT/SITE-ALGO-seedS-stepsN``, so that no run of the recipe's budget is overwritten;
only runs trained to N steps are reused (the shipped one in ``agents/`` too, when its
card has N), never one of another budget. ``--summary-only`` trains
nothing and summarises the cards found. ``--jobs N`` trains N runs at a time (one core
each; a run's output goes to its folder's name plus ``.log``, ``OUT/SITE-ALGO-seedS.log``).
``--reevaluate`` evaluates the runs already in OUT again, against the baselines and the
oracle as they are now (their weeks N at a time), and stores that in their cards (the shipped cards:
``benchmarks/policies.py --rerun --update-cards``). The table gives each run's
evaluation on the held-out weeks (its model card's, the same as ``cooling evaluate
--json``) and, per algorithm with several seeds, the mean and the spread (sample
standard deviation) of its saving against the rules. The validation rewards are the
cards', recorded when each run kept its checkpoint: runs trained at different commits
compare only if the plant, the traces and the reward did not change between them (the
best run is named with that caveat); ``--rescore`` scores every run again on today's
validation episodes (``cooling.train.validation_reward``, some 20 s a run) and names the
best by those. ``--behind-shield`` adds each run's saving against the rules on the
validation weeks behind the default safety shield, as the deployed controller runs it
(``cooling evaluate --weeks validation --shield --baselines rules``, some 10 s a run with
``--jobs 2``, which also runs the rules' weeks in that many processes), and names the
run best by that too: runs a few tenths of validation reward apart kept very different
savings behind the shield's pull-back until 2026-11-25, if not behind today's
(docs/RESULTS.md, "A discount of 0.95"). A run whose
policy does not load (a v0 run, a missing file) gets "-" there.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUNS = "sac:0,sac:1,sac:2,ppo:0,ppo:1,ppo:2,td3:0,td3:1,td3:2"


def recipe_names() -> list[str]:
    """The recipes a run may name: the YAML files in ``agents/`` (sac, ppo, td3 and any a
    researcher adds there, such as a variant of one with other hyperparameters)."""
    return sorted(p.stem for p in (ROOT / "agents").glob("*.yaml"))


def _runs(text: str) -> list[tuple[str, int]]:
    runs = []
    names = recipe_names()
    for item in text.split(","):
        algo, _, seed = item.strip().partition(":")
        if algo not in names or not seed.lstrip("-").isdigit():
            raise argparse.ArgumentTypeError(
                f"run {item!r}: expected RECIPE:SEED with RECIPE one of {', '.join(names)} "
                "(agents/RECIPE.yaml; e.g. sac:1)"
            )
        runs.append((algo, int(seed)))
    return runs


def as_dict(recipe: Any) -> dict[str, Any]:
    """A recipe's fields as JSON would give them back (tuples as lists)."""
    fields = {k: getattr(recipe, k) for k in type(recipe).__dataclass_fields__}
    out: dict[str, Any] = json.loads(json.dumps(fields))
    return out


def _card(path: Path) -> dict[str, Any]:
    card: dict[str, Any] = json.loads(path.read_text())
    return card


def command(site: str, algo: str, seed: int, out: Path, steps: int | None = None) -> list[str]:
    budget = [] if steps is None else ["--steps", str(steps)]
    return ["cooling", "train", "--recipe", f"agents/{algo}.yaml", "--site", site,
            "--seed", str(seed), *budget, "--out", str(out), "--no-progress"]  # fmt: skip


def site_label(site: str) -> str:
    """The name a site's runs go by: a shipped site's own (``enterprise``), or the ``name``
    in the spec that a path gives (``envs/variants/enterprise-crah.yaml``:
    ``enterprise-crah``, the name its runs have in ``agents/``). Raises the spec's error
    for an unknown name or a spec that does not load."""
    from cooling.spec import load_site

    return load_site(site).name


def site_argument(site: str) -> str:
    """``--site`` as the training command and the model cards give it: a shipped site's
    name as it is, a spec's path relative to the repository root where it lies inside it
    (``./envs/variants/x.yaml``, or the absolute path, both ``envs/variants/x.yaml``, so
    that a run already trained is found whichever way the path was typed). A path to a
    shipped site's own spec is refused: its runs would take the shipped site's folders."""
    from cooling.spec import SpecError, site_names

    path = Path(site)
    if path.suffix not in (".yaml", ".yml"):
        return site
    found = path if path.is_file() else ROOT / path
    if found.is_file():
        found = found.resolve()
        if found.is_relative_to(ROOT):
            site = found.relative_to(ROOT).as_posix()
        else:
            site = str(found)
    name = site_label(site)
    if name in site_names():
        raise SpecError(f"{site} is the shipped site {name!r}'s spec: give its name, --site {name}")
    return site


def folder_name(site: str, algo: str, seed: int, steps: int | None = None) -> str:
    """A run's folder under --out: the shipped name, with the budget when it is not the
    recipe's (``enterprise-ppo-seed0-steps7500000``)."""
    name = f"{site}-{algo}-seed{seed}"
    return name if steps is None else f"{name}-steps{steps}"


def _train(runs: list[tuple[str, list[str], Path]], jobs: int) -> list[str]:
    """Run the training commands, ``jobs`` at a time; the names of those that failed.

    A failure lets the runs already going finish but starts no more; an interrupt (Ctrl-C)
    stops the running ones too."""
    failed: list[str] = []
    stop = threading.Event()
    running: dict[str, subprocess.Popen[bytes]] = {}
    lock = threading.Lock()

    def one(k: int, name: str, cmd: list[str], log_path: Path) -> bool:
        with lock:
            if stop.is_set():
                return False  # not started
            print(f"training ({k}/{len(runs)}): {' '.join(cmd)}", file=sys.stderr, flush=True)
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file = log_path.open("w")
            running[name] = subprocess.Popen(
                [sys.executable, "-m", "cooling.cli", *cmd[1:]],
                cwd=ROOT,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        with log_file:
            code = running[name].wait()
        with lock:
            running.pop(name)
            if code != 0:
                stop.set()  # before this thread takes the next run from the queue
        if code != 0:
            raise RuntimeError(f"{name}: exit {code}, see {log_path}")
        return True

    pool = ThreadPoolExecutor(max_workers=jobs)
    futures = {}
    try:
        for k, (name, cmd, out) in enumerate(runs, 1):
            futures[pool.submit(one, k, name, cmd, out.with_name(out.name + ".log"))] = name
        for future in as_completed(futures):
            name = futures[future]
            if future.cancelled():
                continue
            try:
                if future.result():
                    print(f"done: {name}", file=sys.stderr, flush=True)
            except Exception as e:  # report it, start no more, let the others finish
                failed.append(name)
                print(f"failed: {e}", file=sys.stderr, flush=True)
                stop.set()
    except BaseException:  # interrupted: stop the runs going, start no more
        stop.set()
        with lock:
            for proc in running.values():
                proc.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    skipped = [name for f, name in futures.items()
               if f.cancelled() or (f.exception() is None and f.result() is False)]  # fmt: skip
    if skipped:
        print(f"not started: {', '.join(skipped)}", file=sys.stderr)
    return failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--site",
        default="highdensity",
        help="a shipped site's name or a spec's path (envs/variants/*.yaml)",
    )
    ap.add_argument("--runs", type=_runs, default=_runs(DEFAULT_RUNS),
                    help=f"RECIPE:SEED,... for agents/RECIPE.yaml ({DEFAULT_RUNS})")  # fmt: skip
    ap.add_argument("--steps", type=int,
                    help="environment steps of every run (default: each recipe's)")  # fmt: skip
    ap.add_argument("--out", type=Path, default=Path("out/runs"), help="run folders (out/runs)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="training runs at a time (each uses one core; default 1), and "
                    "processes for the rules' weeks with --behind-shield")  # fmt: skip
    ap.add_argument("--summary-only", action="store_true", help="train nothing")
    ap.add_argument("--reevaluate", action="store_true",
                    help="evaluate the runs already in --out again, against the baselines "
                    "and oracle as they are now, and store that in their cards")  # fmt: skip
    ap.add_argument("--rescore", action="store_true",
                    help="score every run again on today's validation episodes")  # fmt: skip
    ap.add_argument("--behind-shield", action="store_true",
                    help="also each run's saving vs the rules on the validation weeks behind "
                    "the default shield")  # fmt: skip
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1 (got {args.jobs})")
    if args.steps is not None and args.steps < 1:
        ap.error(f"--steps must be a positive number of environment steps (got {args.steps})")
    if not args.out.is_absolute():  # training runs in the repository root
        args.out = ROOT / args.out
    from cooling.control.policy import PolicyError
    from cooling.evaluate import refresh_card
    from cooling.spec import SpecError
    from cooling.train import VALIDATION_SEED, Recipe, load_recipe

    try:
        args.site = site_argument(args.site)
        label = site_label(args.site)
    except SpecError as e:
        ap.error(f"--site: {e}")
    found: dict[str, Path] = {}
    to_train: list[tuple[str, list[str], Path]] = []
    for algo, seed in args.runs:
        recipe = load_recipe(ROOT / "agents" / f"{algo}.yaml", site=args.site, seed=seed)
        steps = None if args.steps in (None, recipe.steps) else args.steps
        if steps is not None:
            recipe = load_recipe(ROOT / "agents" / f"{algo}.yaml", site=args.site, seed=seed,
                                 steps=steps)  # fmt: skip
        wanted = as_dict(recipe)
        name = f"{label}-{algo}-seed{seed}"
        out = args.out / folder_name(label, algo, seed, steps)
        for folder in (ROOT / "agents" / name, out):
            path = folder / "model_card.json"
            # a card written before a recipe field existed has that field's default; one
            # without a "selection" chose its checkpoint on the held-out weeks (before
            # 2026-11-24), one without its "seed" on validation episodes that changed from
            # one evaluation to the next: both are trained again
            card = _card(path) if path.is_file() else {}
            chosen = card.get("selection", {}).get("seed") == VALIDATION_SEED
            if card and as_dict(Recipe(**card["recipe"])) == wanted and chosen:
                found[name] = path
                break
        if name not in found:
            if args.summary_only:
                print(f"missing: {name} with the current recipe ({recipe.steps:,} steps, in "
                      f"{out.name}/ or agents/{name}/) and its checkpoint chosen on the "
                      "validation weeks (run without --summary-only)",
                      file=sys.stderr)  # fmt: skip
            else:
                to_train.append((name, command(args.site, algo, seed, out, steps), out))
    if args.reevaluate:
        for name, path in found.items():
            if path.is_relative_to(args.out):  # the shipped cards: policies.py --update-cards
                print(f"evaluating again: {name}", file=sys.stderr, flush=True)
                refresh_card(path, jobs=args.jobs)
    failed = _train(to_train, args.jobs) if to_train else []
    for name, _, out in to_train:
        if name not in failed and (out / "model_card.json").is_file():
            found[name] = out / "model_card.json"
    cards = []
    for algo, seed in args.runs:
        name = f"{label}-{algo}-seed{seed}"
        if name in found:
            card = _card(found[name])
            if args.rescore:  # in memory only: the card keeps its training record
                from cooling.train import validation_reward as rescore

                print(f"scoring again on the validation episodes: {name}", file=sys.stderr)
                now = rescore(found[name].with_name("policy.zip"))
                card["selection"] = {**card.get("selection", {}), "best_mean_reward": now,
                                     "seed": VALIDATION_SEED}  # fmt: skip
            if args.behind_shield:  # in memory only, like --rescore
                print(f"evaluating behind the shield on the validation weeks: {name}",
                      file=sys.stderr, flush=True)  # fmt: skip
                try:
                    card["behind_shield"] = behind_shield(args.site, found[name].with_name(
                        "policy.zip"), jobs=args.jobs)  # fmt: skip
                except PolicyError as e:  # told, and "-" in its row
                    print(f"not evaluated behind the shield: {name}: {e}", file=sys.stderr)
            cards.append((algo, seed, card))
    if failed:
        print(f"{len(failed)} run(s) failed: {', '.join(failed)}", file=sys.stderr)
    if not cards:
        return 1
    scored_on = ("today's code and traces" if args.rescore
                 else "the episodes every run chose its checkpoint on")  # fmt: skip
    print(f"{label}: validation reward (days 56, 147, 238, 329; {scored_on}); held-out "
          "weeks (days 21, 112, 203, 294), no shield:\n")  # fmt: skip
    shielded = " | validation behind the shield: vs rules" if args.behind_shield else ""
    print("| algorithm | seed | steps | wall time | validation reward | cooling saving vs fixed "
          f"| vs rules | oracle capture | steps > 27 °C | hottest inlet{shielded} |")  # fmt: skip
    print("| --- " * (11 if args.behind_shield else 10) + "|")
    by_algo: dict[str, list[float]] = {}
    for algo, seed, card in cards:
        ev = card["evaluation"]
        s = ev["cooling_saving_vs"]
        by_algo.setdefault(algo, []).append(s["rules"])
        reward = validation_reward(card)
        print(
            f"| {algo.upper()} | {seed} | {card['steps']:,} | {card['wall_time_s']:.0f} s "
            f"| {'-' if reward is None else f'{reward:,.1f}'} "
            f"| {s['fixed']:.1%} | {s['rules']:.1%} | {ev['oracle_capture']:.0%} "
            f"| {ev['violation_step_fraction']:.2%} "
            f"| {ev['controllers']['policy']['max_inlet_c']:.1f} °C |"
            + (f" {_percent(card.get('behind_shield'))} |" if args.behind_shield else "")
        )
    for algo, savings in by_algo.items():
        if len(savings) > 1:
            print(f"\n{algo.upper()} over {len(savings)} seeds: saving vs rules "
                  f"{statistics.mean(savings):.1%} ± {statistics.stdev(savings):.1%} "
                  f"(min {min(savings):.1%}, max {max(savings):.1%})")  # fmt: skip
    print(best_on_validation(cards, rescored=args.rescore))
    shielded_runs = [(algo, seed, card["behind_shield"]) for algo, seed, card in cards
                     if card.get("behind_shield") is not None]  # fmt: skip
    if shielded_runs:
        best = max(saving for *_, saving in shielded_runs)
        names = [f"{algo.upper()} seed {seed}" for algo, seed, saving in shielded_runs
                 if saving == best]  # fmt: skip
        print(f"best behind the shield on the validation weeks: {' and '.join(names)} "
              f"(cooling saving vs rules {_percent(best)})")  # fmt: skip
    return 1 if failed else 0


def _percent(share: float | None) -> str:
    """A share as the table prints it: "-" for none, and no "-0.0%" for a tiny loss."""
    return "-" if share is None else f"{round(share, 3) + 0.0:.1%}"


def behind_shield(site: str, policy: Path, jobs: int = 1) -> float:
    """The policy's cooling saving against the rules on the validation weeks behind the
    default safety shield: what it keeps as the deployed controller runs it."""
    from cooling.control.policy import load_policy
    from cooling.evaluate import evaluate
    from cooling.spec import load_site

    spec = load_site(site)
    result = evaluate(spec, load_policy(policy, spec), weeks="validation", shield=True,
                      controllers=("rules",), jobs=jobs)  # fmt: skip
    return float(result["cooling_saving_vs"]["rules"])


def best_on_validation(cards: list[tuple[str, int, dict[str, Any]]], rescored: bool = False) -> str:
    """Which run scored best on the validation episodes, said in a sentence.

    Rewards compare only between runs scored on the same episodes with the same reward:
    the same validation seed (:func:`validation_reward`), environment options and number
    of validation episodes; otherwise no run is named. Runs trained at different commits
    are named with a caveat, unless ``rescored`` (all scored again with today's code)."""
    scored = [(r, algo, seed, card) for algo, seed, card in cards
              if (r := validation_reward(card)) is not None]  # fmt: skip
    if not scored:
        return "\nno run was scored on the current validation episodes"
    terms = {json.dumps([c["recipe"]["env"], c["recipe"]["eval_episodes"]], sort_keys=True)
             for *_, c in scored}  # fmt: skip
    if len(terms) > 1:
        return ("\nno best run named: their validation rewards come from different "
                "environment options or numbers of episodes and do not compare")  # fmt: skip
    best = max(r for r, *_ in scored)
    names = [f"{algo.upper()} seed {seed}" for r, algo, seed, _ in scored if r == best]
    said = (f"\nbest on the validation weeks: {' and '.join(names)} (mean reward "
            f"{best:,.1f}); the held-out figures above played no part in that choice")  # fmt: skip
    commits = {json.dumps((c.get("source") or {}).get("commit")) for *_, c in scored}
    if len(commits) > 1 and not rescored:
        said += (f" (the runs were trained at {len(commits)} commits: their rewards compare "
                 "only if the plant, the traces and the reward did not change between "
                 "them; --rescore scores them all on today's)")  # fmt: skip
    return said


def validation_reward(card: dict[str, Any]) -> float | None:
    """The mean reward of a run's kept checkpoint on the validation episodes, or None for
    a run scored on other episodes (another seed, or before they were fixed) that
    cannot be compared."""
    from cooling.train import VALIDATION_SEED

    selection = card.get("selection", {})
    if selection.get("seed") != VALIDATION_SEED or selection.get("best_mean_reward") is None:
        return None
    return float(selection["best_mean_reward"])


if __name__ == "__main__":
    sys.exit(main())
