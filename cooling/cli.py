"""The ``cooling`` command: simulate, train, evaluate and deploy RL control of a datacenter's
chilled-water cooling plant.

    cooling demo
    cooling simulate --site enterprise --controller rules --days 7 [--start DAY] [--seed S] [--json]
    cooling train --recipe agents/sac.yaml [--site SITE] [--seed S] [--steps N] [--out DIR]
    cooling evaluate --policy agents/SITE-ALGO-seedS/policy.zip [--weeks held-out|validation|all]
                     [--json]
    cooling export-actor --policy DIR/policy.zip
    cooling shadow|run --config hil/controller.example.yaml
    cooling virtual-plant --site SITE
    cooling bench [--json]
    cooling sites

``cooling COMMAND --help`` gives each command's options.

Every reporting command takes ``--json`` and then prints one JSON object on stdout;
without it, a readable table (and a progress bar on stderr for long work). ``train``
always prints its evaluation as JSON.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from typing import TYPE_CHECKING

from cooling.plant.weather import UTC_OFFSET_RANGE_H
from cooling.spec import SpecError, load_site, site_names

if TYPE_CHECKING:  # rich is imported where a table is printed, not at start-up
    from rich.console import Console
    from rich.table import Table

    from cooling.control.safety import ShieldConfig


def _number(check, allowed: str):
    """An argparse type: a float for which ``check(value)`` holds, else a clear error."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not check(value):
            raise argparse.ArgumentTypeError(f"{allowed}, got {text}")
        return value

    return parse


_positive_float = _number(lambda v: v > 0, "must be > 0")
_fraction = _number(lambda v: 0 <= v <= 0.5, "must be in 0..0.5")
_noise = _number(lambda v: 0 <= v <= 5, "must be in 0..5 K")
ROBUST_FRACTION_HELP = (
    "with --shield: how much worse than the spec the shield's model takes the plant "
    "(0-0.5; 0.1, the default; docs/RESULTS.md, 'Behind the shield')"
)


#: cooling.control.safety.PULL_BACKS, not imported at start-up (the plant's JIT)
PULL_BACKS = ("cheapest", "together")
PULL_BACK_HELP = (
    "with --shield: how it pulls back a proposal it predicts too hot: 'cheapest' (the "
    "default: all setpoints together or each alone, the candidate predicted safe that "
    "draws the least power) or 'together' (all setpoints together, the first fraction "
    "predicted safe; the shield until 2026-11-25)"
)


def _shield_config(args: argparse.Namespace) -> ShieldConfig | None:
    """The ShieldConfig that --shield, --shield-robust-fraction and --shield-pull-back
    ask for, or None."""
    from cooling.control.safety import ShieldConfig

    tuning = {}
    if args.shield_robust_fraction is not None:
        tuning["robust_fraction"] = args.shield_robust_fraction
    if args.shield_pull_back is not None:
        tuning["pull_back"] = args.shield_pull_back
    if tuning and not args.shield:
        flag = "--shield-robust-fraction" if "robust_fraction" in tuning else "--shield-pull-back"
        raise ValueError(f"{flag} tunes the shield: give --shield too")
    if not args.shield:
        return None
    return ShieldConfig(**tuning)


def _offset_days(text: str) -> int:
    """An argparse type: a whole number of days within the policy's weather offset."""
    from cooling.control.policy import MAX_WEATHER_OFFSET_DAYS as most

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of days from -{most} to {most}, got {text!r}"
        ) from None
    if not -most <= value <= most:
        raise argparse.ArgumentTypeError(f"must be in -{most}..{most} days, got {text}")
    return value


def _jobs(text: str) -> int:
    """An argparse type: a number of worker processes, 1 to 256."""
    if not text.strip().isdigit() or not 1 <= int(text) <= 256:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 256, got {text!r}")
    return int(text)


def _baselines(text: str) -> tuple[str, ...]:
    """An argparse type: a comma-separated subset of fixed, rules, oracle (or none)."""
    from cooling.evaluate import BASELINES

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if names == ("none",):
        return ()
    unknown = [n for n in names if n not in BASELINES]
    if unknown or not names or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated subset of {','.join(BASELINES)} (or none), got {text!r}"
        )
    return names


_day = _number(lambda v: 0 <= v < 365, "day of the year must be in 0..364")
_utc_offset = _number(
    lambda v: UTC_OFFSET_RANGE_H[0] <= v <= UTC_OFFSET_RANGE_H[1],
    "UTC offset must be in {:g}..{:g} hours".format(*UTC_OFFSET_RANGE_H),
)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="cooling",
        description=__doc__.split("\n\n")[0].replace("``", "").replace("\n", " "),
        epilog="cooling COMMAND --help gives each command's options.",
    )
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = sub.add_parser("simulate", help="run a controller on a simulated site")
    sim.add_argument(
        "--site", default="enterprise", help="shipped site name or path to a YAML spec"
    )
    sim.add_argument(
        "--controller",
        default="fixed",
        choices=["fixed", "rules", "pid", "oracle", "random", "adversarial", "nan"],
        help="fixed (legacy setpoints), rules (best practice), pid (inlet loop), oracle "
        "(perfect-knowledge MPC, slow); random, adversarial, nan: hostile policies for "
        "testing the shield",
    )
    sim.add_argument(
        "--shield", action="store_true", help="put the safety shield between controller and plant"
    )
    sim.add_argument("--shield-robust-fraction", type=_fraction, metavar="F",
                     help=ROBUST_FRACTION_HELP)  # fmt: skip
    sim.add_argument("--shield-pull-back", choices=PULL_BACKS, help=PULL_BACK_HELP)
    sim.add_argument(
        "--perturb",
        type=_fraction,
        default=0.0,
        help="simulated plant parameters off the spec by up to this fraction (0-0.5)",
    )
    sim.add_argument(
        "--sensor-noise",
        type=_noise,
        default=0.0,
        help="Gaussian noise on measured temperatures [K] (0-5)",
    )
    sim.add_argument("--days", type=_positive_float, default=7.0, help="simulated days (7)")
    sim.add_argument("--start", type=_day, default=0.0, help="start day of the year, 0-364 (0)")
    sim.add_argument("--seed", type=int, default=0, help="seed of the IT-load noise (0)")
    sim.add_argument("--json", action="store_true", help="print one JSON object")

    bench = sub.add_parser("bench", help="plant speed and memory figures")
    bench.add_argument("--seconds", type=_positive_float, default=1.0, help="time per figure")
    bench.add_argument("--json", action="store_true", help="print one JSON object")

    tr = sub.add_parser("train", help="train an RL agent from a recipe")
    tr.add_argument("--recipe", required=True, help="recipe YAML (agents/*.yaml)")
    tr.add_argument("--site", help="override the recipe's site")
    tr.add_argument("--seed", type=int, help="override the recipe's seed")
    tr.add_argument("--steps", type=int, help="override the recipe's step budget")
    tr.add_argument(
        "--out",
        help="output folder (default agents/SITE-RECIPE-seedS, RECIPE the "
        "recipe file's name: agents/hyperscale-sac-seed2 for agents/sac.yaml)",
    )
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")
    tr.add_argument(
        "--jobs",
        type=_jobs,
        default=2,
        help="processes for the final evaluation's baselines (2; the same figures)",
    )

    ex = sub.add_parser(
        "export-actor", help="write the actor.pt of a policy.zip (e.g. one from dc-cooling 0.1)"
    )
    ex.add_argument("--policy", required=True, help="policy.zip (SAC, PPO or TD3)")
    ex.add_argument("--out", help="actor file to write (default: actor.pt beside the policy)")

    ev = sub.add_parser("evaluate", help="a trained policy against the baselines")
    ev.add_argument(
        "--policy",
        required=True,
        help="policy.zip (with actor.pt beside it), or random, adversarial, nan (shield tests)",
    )
    ev.add_argument("--site", help="site (default: the model card's)")
    ev.add_argument("--weeks", choices=["held-out", "validation", "all"], default="held-out",
                    help="held-out (the test set, default), validation (where training picks "
                         "its checkpoint) or all 52")  # fmt: skip
    ev.add_argument("--weather", help="another weather file (EPW or reduced CSV)")
    ev.add_argument("--workload", help="another workload CSV (cpu_load column)")
    ev.add_argument("--shield", action="store_true", help="run the policy behind the shield")
    ev.add_argument("--shield-robust-fraction", type=_fraction, metavar="F",
                    help=ROBUST_FRACTION_HELP)  # fmt: skip
    ev.add_argument("--shield-pull-back", choices=PULL_BACKS, help=PULL_BACK_HELP)
    ev.add_argument("--perturb", type=_fraction, default=0.0,
                    help="the plant off its spec by up to this fraction (0-0.5), for every "
                         "controller")  # fmt: skip
    ev.add_argument("--sensor-noise", type=_noise, default=0.0,
                    help="Gaussian noise on measured temperatures [K] (0-5)")  # fmt: skip
    ev.add_argument("--weather-offset-days", type=_offset_days, default=0,
                    help="the typical-year weather the policy reads runs this many days "
                         "ahead of the plant's (-182..182; 0): a year that is not the "
                         "typical one")  # fmt: skip
    ev.add_argument("--baselines", type=_baselines, default=("fixed", "rules", "oracle"),
                    help="which baselines to run: fixed,rules,oracle (the default), a subset, "
                         "or none; the oracle takes most of the time")  # fmt: skip
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--jobs", type=_jobs, default=1,
                    help="run the baselines' weeks in this many processes, beside the policy "
                         "(same results; 1)")  # fmt: skip
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--plot", help="write PUE, setpoints and hottest inlet over time to this PNG")

    demo = sub.add_parser("demo", help="the shipped policy vs the baselines on a held-out week")
    demo.add_argument("--site", default="enterprise", help="site with a shipped policy")
    demo.add_argument("--plot", default="out/demo.png", help="where to write the plot")
    demo.add_argument("--json", action="store_true", help="print one JSON object")

    for name, what in (("shadow", "recommend and log only, never command"),
                       ("run", "command the shielded setpoints (active mode)")):  # fmt: skip
        dep = sub.add_parser(name, help=f"the deployed controller over MQTT: {what}")
        dep.add_argument("--config", required=True, help="controller config YAML (hil/*.yaml)")
        dep.add_argument("--json", action="store_true", help="print the final status as JSON")
        dep.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])

    vp = sub.add_parser("virtual-plant", help="serve a simulated plant over MQTT")
    vp.add_argument("--site", default="enterprise", help="shipped site name or path to a spec")
    vp.add_argument("--broker", default="127.0.0.1:1883", help="HOST:PORT (127.0.0.1:1883)")
    vp.add_argument("--username", default="", help="broker user (e.g. plant)")
    vp.add_argument("--password-env", default="", help="environment variable with the password")
    vp.add_argument("--protocol", default="5", choices=["5", "3.1.1"])
    vp.add_argument("--speed", type=_positive_float, default=1.0,
                    help="times faster than real time (1)")  # fmt: skip
    vp.add_argument("--days", type=_positive_float, default=1.0, help="simulated days (1)")
    vp.add_argument("--start", type=_day, default=None,
                    help="start day of the year (default: today, on the wall clock)")  # fmt: skip
    vp.add_argument("--seed", type=int, default=0, help="seed of the IT-load noise (0)")
    vp.add_argument("--heartbeat-timeout", type=_positive_float, default=15.0,
                    help="wall seconds without heartbeats before relinquishing (15)")  # fmt: skip
    vp.add_argument("--utc-offset-h", type=_utc_offset, default=None,
                    help="the site's standard time minus UTC, hours (default: its weather "
                         "file's)")  # fmt: skip
    vp.add_argument("--json", action="store_true", help="print one JSON object at the end")

    sub.add_parser("sites", help="list the shipped site specs")
    return ap


def _simulate(args: argparse.Namespace) -> int:
    from cooling.control.baselines import make
    from cooling.simulation import simulate

    spec = load_site(args.site)
    controller = make(args.controller, spec)
    shield = _shield_config(args)
    options = {
        "seeds": (args.seed,),
        "shield": shield,
        "perturb": args.perturb,
        "sensor_noise_c": args.sensor_noise,
    }
    if args.json:
        report = simulate(spec, controller, args.days, args.start, **options)[0]
    else:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(
            TextColumn(f"simulating {spec.name} ({args.days:g} days)"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeRemainingColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task("sim", total=None)

            def progress(done: int, total: int) -> None:
                if done % 288 == 0 or done == total:
                    bar.update(task, completed=done, total=total)

            report = simulate(
                spec, controller, args.days, args.start, progress=progress, **options
            )[0]
    report = {
        "site": spec.name,
        "controller": args.controller,
        "days": args.days,
        "start_day": args.start,
        "seed": args.seed,
        "shield": args.shield,
        "perturb": args.perturb,
        "sensor_noise_c": args.sensor_noise,
        **report,
    }
    if shield is not None:
        report["shield_robust_fraction"] = shield.robust_fraction
        report["shield_pull_back"] = shield.pull_back
    if args.json:
        print(json.dumps(report))
    else:
        _print_report(report)
    return 0


def _console() -> Console:
    """A rich console for the result tables: the terminal's width on a terminal, and wide
    enough for every table when the output goes to a file or a pipe (rich's 80 columns
    would cut the column headers and the controllers' names there)."""
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=120)


def _controller_table(title: str, columns: tuple[str, ...]) -> Table:
    """A table of controllers: their names left-aligned and never cut, figures right-aligned."""
    from rich.table import Table

    t = Table(title=title)
    t.add_column(columns[0], no_wrap=True)
    for col in columns[1:]:
        t.add_column(col, justify="right")
    return t


def _print_report(r: dict) -> None:
    from rich.table import Table

    shielded = " · shielded" if r.get("shield") else ""
    t = Table(
        title=f"{r['site']} · {r['controller']}{shielded} · {r['days']:g} days "
        f"from day {r['start_day']:g}"
    )
    t.add_column("metric")
    t.add_column("value", justify="right")
    rows = [
        ("PUE", f"{r['pue']:.3f}"),
        ("cooling partial PUE", f"{r['cooling_ppue']:.3f}"),
        ("IT energy", f"{r['it_kwh']:,.0f} kWh"),
        ("facility energy", f"{r['facility_kwh']:,.0f} kWh"),
        ("cooling energy", f"{r['cooling_kwh']:,.0f} kWh"),
        *((f"  {k}", f"{v:,.0f} kWh") for k, v in r["cooling_breakdown_kwh"].items()),
        ("electrical losses", f"{r['electrical_loss_kwh']:,.0f} kWh"),
        ("water", f"{r['water_l']:,.0f} L (WUE {r['wue_l_per_kwh']:.2f} L/kWh)"),
        ("carbon", f"{r['carbon_kg']:,.0f} kg CO2"),
        ("economizer", f"{r['economizer_hours']:,.1f} h"),
        ("minutes above recommended", f"{r['minutes_above_recommended']:.0f}"),
        ("minutes above allowable", f"{r['minutes_above_allowable']:.0f}"),
        ("max rack inlet", f"{r['max_inlet_c']:.1f} °C"),
    ]
    if r.get("shield"):
        rows += [
            ("shield interventions", f"{r['shield_interventions']}"),
            ("fallback steps", f"{r['fallback_steps']}"),
        ]
    for k, v in rows:
        t.add_row(k, v)
    _console().print(t)


def _bench(args: argparse.Namespace) -> int:
    from cooling import bench

    if not args.json:
        print("benchmarking (compiling first)...", file=sys.stderr)
    figures = bench.run(seconds=args.seconds)
    if args.json:
        print(json.dumps(figures))
    else:
        for batch, rate in figures["plant_steps_per_s"].items():
            print(f"plant steps/s, batch {batch:>5}: {rate:>12,}")
        for kind, rate in figures["env_steps_per_s"].items():
            print(f"env steps/s, {kind:>11}: {rate:>12,}")
        print(f"peak RSS: {figures['peak_rss_mb']} MB")
    return 0


def _train(args: argparse.Namespace, argv: list[str] | None) -> int:
    from pathlib import Path

    from cooling import train

    if args.steps is not None and args.steps < 1:
        raise ValueError(f"--steps must be >= 1 (got {args.steps})")
    recipe = train.load_recipe(args.recipe, site=args.site, seed=args.seed, steps=args.steps)
    out = Path(args.out) if args.out else train.default_out_dir(Path(args.recipe), recipe)
    print(f"training {recipe.algorithm} on {recipe.site} for {recipe.steps:,} steps -> {out}",
          file=sys.stderr)  # fmt: skip
    card = train.train(
        recipe, out, train.command_line(argv), progress=not args.no_progress, jobs=args.jobs
    )
    print(json.dumps(card["evaluation"]))
    print(f"policy, actor and model card written to {out}", file=sys.stderr)
    return 0


def _export_actor(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cooling import train

    out = Path(args.out) if args.out else Path(args.policy).with_name("actor.pt")
    train.export_actor(train.load_model(args.policy), out)
    print(f"actor written to {out}", file=sys.stderr)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cooling import evaluate as ev
    from cooling.control.adversaries import ADVERSARIES
    from cooling.control.policy import load_policy

    site = args.site
    card = Path(args.policy).with_name("model_card.json")
    if site is None:
        if args.policy in ADVERSARIES or not card.is_file():
            raise ValueError(f"--site is needed: no model card beside {args.policy}")
        site = json.loads(card.read_text())["site"]
    spec = ev.with_traces(load_site(site), args.weather, args.workload)
    if args.policy in ADVERSARIES:
        if args.weather_offset_days:
            raise ValueError(
                f"--weather-offset-days applies to a trained policy; {args.policy} reads no weather"
            )
        policy = ADVERSARIES[args.policy](spec)
    else:
        policy = load_policy(args.policy, spec, args.weather_offset_days)
    records: dict | None = {} if args.plot else None
    shield = _shield_config(args) or False
    run = functools.partial(ev.evaluate, spec, policy, args.weeks, shield, args.seed,
                            args.baselines, records=records, perturb=args.perturb,
                            sensor_noise_c=args.sensor_noise, jobs=args.jobs)  # fmt: skip
    if args.json:
        result = run()
    else:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        slow = " (the oracle takes about 25 s a week)" if "oracle" in args.baselines else ""
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("weeks"), TimeElapsedColumn(), transient=True) as bar:  # fmt: skip
            task = bar.add_task(f"evaluating on {spec.name}{slow}", total=None)

            def progress(name: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total,
                           description=f"evaluating on {spec.name}{slow}: {name} done")  # fmt: skip

            result = run(progress=progress)
    if args.plot:
        from cooling.demo import plot

        result["plot"] = str(plot(spec.name, records, Path(args.plot), "policy vs baselines"))
    if args.json:
        print(json.dumps(result))
        return 0
    title = f"{spec.name} · weeks starting on days {result['weeks']}"
    if result.get("weather_offset_days"):
        title += f" · the policy's typical weather {result['weather_offset_days']:+d} days"
    t = _controller_table(title, ("controller", "PUE", "cooling kWh", "water m³", "carbon t",
                                  "min > 27 °C", "min > 32 °C", "max inlet °C"))  # fmt: skip
    for name, r in result["controllers"].items():
        t.add_row(
            name, f"{r['pue']:.3f}", f"{r['cooling_kwh']:,.0f}", f"{r['water_l'] / 1000:,.0f}",
            f"{r['carbon_kg'] / 1000:,.1f}", f"{r['minutes_above_recommended']:.0f}",
            f"{r['minutes_above_allowable']:.0f}", f"{r['max_inlet_c']:.1f}",
        )  # fmt: skip
    _console().print(t)
    parts = []
    if result["cooling_saving_vs"]:
        savings = ", ".join(f"{k} {v:.1%}" for k, v in result["cooling_saving_vs"].items())
        parts.append(f"policy cooling saving vs {savings}")
    keys = {"fixed": "oracle_capture", "rules": "oracle_capture_vs_rules"}
    captures = [f"{base} {result[key]:.1%}" for base, key in keys.items() if key in result]
    if captures:
        parts.append("share of the oracle's saving vs " + ", ".join(captures))
    parts.append(f"steps above 27 °C {result['violation_step_fraction']:.2%}")
    print("; ".join(parts))
    if args.plot:
        print(f"plot written to {Path(result['plot']).resolve()}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cooling import demo

    if not args.json:
        print(f"running the shipped {args.site} policy and the baselines on a held-out "
              "week (compiling the plant on first use)...", file=sys.stderr)  # fmt: skip
    site, reports, records = demo.run(
        args.site, progress=None if args.json else lambda n: print(f"  {n}: done", file=sys.stderr)
    )
    path = demo.plot(site.name, records, Path(args.plot))
    fixed = reports["fixed"]["cooling_kwh"]
    rules = reports["rules"]["cooling_kwh"]
    policy = reports["policy (shielded)"]["cooling_kwh"]
    summary = {
        "site": site.name,
        "start_day": demo.DEMO_WEEK_START_DAY,
        "controllers": reports,
        "cooling_saving_vs": {"fixed": 1 - policy / fixed, "rules": 1 - policy / rules},
        "plot": str(path),
    }
    if args.json:
        print(json.dumps(summary))
        return 0
    t = _controller_table(f"{site.name} · held-out week from day {demo.DEMO_WEEK_START_DAY}",
                          ("controller", "PUE", "cooling kWh", "facility kWh", "water m³",
                           "min > 27 °C", "max inlet °C"))  # fmt: skip
    for name, r in reports.items():
        t.add_row(
            name, f"{r['pue']:.3f}", f"{r['cooling_kwh']:,.0f}", f"{r['facility_kwh']:,.0f}",
            f"{r['water_l'] / 1000:,.0f}", f"{r['minutes_above_recommended']:.0f}",
            f"{r['max_inlet_c']:.1f}",
        )  # fmt: skip
    _console().print(t)
    s = summary["cooling_saving_vs"]
    print(f"shielded policy: {s['fixed']:.1%} less cooling energy than fixed setpoints, "
          f"{s['rules']:.1%} vs the rule-based controller")  # fmt: skip
    print(f"plot written to {path.resolve()}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import logging
    import signal

    from cooling.service import Controller, load_config

    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(message)s")
    config = load_config(args.config, mode="shadow" if args.command == "shadow" else "active")
    controller = Controller(config)
    signal.signal(signal.SIGTERM, lambda *_: controller.stop_soon())
    print(f"cooling {args.command}: {controller.site_id} in {config.mode} mode, broker "
          f"{config.broker.host}:{config.broker.port}, policy {controller.model_name}; "
          "Ctrl-C stops", file=sys.stderr)  # fmt: skip
    try:
        controller.run()
    except KeyboardInterrupt:
        pass
    if args.json:
        print(json.dumps(controller.stats()))
    return 0


def _virtual_plant(args: argparse.Namespace) -> int:
    import logging
    import os

    from cooling.hil.virtual_plant import VirtualPlant
    from cooling.io.mqtt import BrokerConfig

    logging.basicConfig(level="WARNING", format="%(asctime)s %(levelname)s %(message)s")
    host, _, port = args.broker.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--broker must be HOST:PORT (got {args.broker!r})")
    password = ""
    if args.password_env:
        if args.password_env not in os.environ:
            raise ValueError(f"--password-env: environment variable {args.password_env} not set")
        password = os.environ[args.password_env]
    broker = BrokerConfig(host=host, port=int(port), username=args.username, password=password,
                          protocol=args.protocol, client_id="")  # fmt: skip
    plant = VirtualPlant(load_site(args.site), broker, speed=args.speed, days=args.days,
                         start_day=args.start, seed=args.seed,
                         heartbeat_timeout_s=args.heartbeat_timeout,
                         utc_offset_h=args.utc_offset_h)  # fmt: skip
    print(f"virtual plant {plant.site_id}: {plant.n_steps} intervals at {args.speed:g}x on "
          f"{args.broker}", file=sys.stderr)  # fmt: skip
    try:
        summary = plant.run()
    except KeyboardInterrupt:
        summary = plant.summary()
    print(json.dumps(summary) if args.json else summary)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "simulate":
            return _simulate(args)
        if args.command == "bench":
            return _bench(args)
        if args.command == "train":
            return _train(args, argv)
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "export-actor":
            return _export_actor(args)
        if args.command == "demo":
            return _demo(args)
        if args.command in ("shadow", "run"):
            return _serve(args)
        if args.command == "virtual-plant":
            return _virtual_plant(args)
        if args.command == "sites":
            for name in site_names():
                print(f"{name}: {load_site(name).description}")
            return 0
    except (SpecError, ValueError, FileNotFoundError, OSError) as exc:
        print(f"cooling {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
