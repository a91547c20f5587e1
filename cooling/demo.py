"""``cooling demo``: the shipped policy of the reference site against the baselines.

On a held-out week (never seen in training), the policy runs behind the safety shield
next to the legacy fixed setpoints, the rule-based best practice and the
perfect-knowledge oracle; the comparison is printed and plotted (PUE, chilled-water and
supply-air setpoints, hottest rack inlet over the week).
"""

from __future__ import annotations

from pathlib import Path

from cooling.control.baselines import make
from cooling.control.policy import load_policy
from cooling.control.safety import ShieldConfig
from cooling.simulation import simulate
from cooling.spec import ENVS_DIR, load_site

#: The shipped run of each site, trained by the command in its model card: the best on the
#: validation episodes of the runs of ``benchmarks/algorithms.py --site SITE`` (the shipped
#: recipes and their variants in ``agents/``; docs/RESULTS.md, "Algorithms and seeds").
SHIPPED_RUNS = {
    "enterprise": "enterprise-ppo-gamma95-seed1",
    "hyperscale": "hyperscale-ppo-gamma95-lowstd-seed2",
    "highdensity": "highdensity-ppo-gamma95-lowstd-seed2",
}
SHIPPED = {
    site: ENVS_DIR.parent / "agents" / run / "policy.zip" for site, run in SHIPPED_RUNS.items()
}
DEMO_WEEK_START_DAY = 203  # a held-out summer week


def run(site_name: str = "enterprise", start_day: float = DEMO_WEEK_START_DAY, progress=None):
    """Every controller on one week: ``(site, reports, records)``, the last two keyed by
    controller."""
    site = load_site(site_name)
    policy_path = SHIPPED.get(site_name)
    if policy_path is None or not policy_path.is_file():
        raise FileNotFoundError(f"no shipped policy for site {site_name!r} ({policy_path})")
    controllers = {
        "policy (shielded)": load_policy(policy_path, site),
        "fixed": make("fixed", site),
        "rules": make("rules", site),
        "oracle": make("oracle", site),
    }
    reports, records = {}, {}
    for name, controller in controllers.items():
        records[name] = []
        shield = ShieldConfig() if name.startswith("policy") else None
        reports[name] = simulate(
            site, controller, 7.0, start_day, (0,), shield=shield, record=records[name]
        )[0]
        if progress is not None:
            progress(name)
    return site, reports, records


def plot(
    site_name: str,
    records: dict[str, list[dict]],
    path: Path,
    title: str = "shipped policy vs baselines, held-out week",
) -> Path:
    """PUE, setpoints and hottest inlet over time, one line per controller.

    Records spanning several weeks are drawn one after the other (x: interval index in
    days of simulated time). The CRAH air flow gets a panel where any controller moved it
    from the design ratio (a site that exposes ``crah_airflow``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("pue", "PUE (interval)"),
        ("chw_supply_c", "chilled-water setpoint [°C]"),
        ("supply_air_c", "supply-air setpoint [°C]"),
    ]
    if any(r.get("crah_airflow", 1.0) != 1.0 for rows in records.values() for r in rows):
        panels.append(("crah_airflow", "CRAH air flow [× design ratio]"))
    panels.append(("inlet_max_c", "hottest rack inlet [°C]"))
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 2.5 * len(panels)), sharex=True)
    for ax, (key, label) in zip(axes, panels, strict=True):
        for name, rows in records.items():
            step_h = rows[1]["hour"] - rows[0]["hour"] if len(rows) > 1 else 1.0
            days = [k * step_h / 24.0 for k in range(len(rows))]
            ax.plot(days, [r[key] for r in rows], label=name, linewidth=1.0)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[-1].axhline(27.0, color="red", linestyle="--", linewidth=1, label="ASHRAE recommended")
    axes[0].legend(loc="upper right", fontsize=8, ncol=2)
    axes[-1].set_xlabel("simulated days")
    fig.suptitle(f"{site_name}: {title}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
