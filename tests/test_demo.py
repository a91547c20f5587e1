"""The demo: the shipped policy of the reference site against the baselines."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from cooling.demo import SHIPPED


@pytest.mark.slow
def test_demo_runs_from_the_shipped_policy_and_writes_the_plot(tmp_path):
    assert SHIPPED["enterprise"].is_file()
    plot = tmp_path / "demo.png"
    done = subprocess.run(
        [sys.executable, "-m", "cooling.cli", "demo", "--json", "--plot", str(plot)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out["controllers"]) == {"policy (shielded)", "fixed", "rules", "oracle"}
    policy = out["controllers"]["policy (shielded)"]
    assert policy["minutes_above_recommended"] == 0.0
    assert out["cooling_saving_vs"]["fixed"] > 0.1
    assert plot.is_file() and plot.stat().st_size > 20_000
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("site", sorted(SHIPPED))
def test_every_site_ships_a_policy_with_its_model_card(site):
    from cooling.train import ROOT, VALIDATION_SEED, load_recipe

    card = json.loads(SHIPPED[site].with_name("model_card.json").read_text())
    assert card["site"] == site
    # made by a recipe in agents/ of its algorithm, into its default folder, which names
    # the site, the recipe and the seed
    recipe = re.fullmatch(
        r"cooling train --recipe agents/([\w-]+)\.yaml --site (\S+) .*", card["command"]
    )
    assert recipe, card["command"]
    assert recipe[2] == site
    assert load_recipe(ROOT / "agents" / f"{recipe[1]}.yaml").algorithm == card["algorithm"]
    assert "--out" not in card["command"]
    assert SHIPPED[site].parent.name == f"{site}-{recipe[1]}-seed{card['seed']}"
    assert card["policy"] == str(SHIPPED[site].relative_to(ROOT))
    assert SHIPPED[site].with_name("actor.pt").is_file()
    # its checkpoint chosen on the validation episodes every run is scored on
    assert card["selection"]["seed"] == VALIDATION_SEED
    assert card["evaluation"]["violation_step_fraction"] < 0.005


def _png_height(path):
    return int.from_bytes(path.read_bytes()[20:24], "big")  # IHDR: width, then height


def test_the_plot_shows_the_crah_air_flow_only_where_a_controller_moved_it(tmp_path):
    from cooling.demo import plot

    def rows(airflow):
        return [{"hour": k / 12, "pue": 1.3, "inlet_max_c": 25.0, "chw_supply_c": 9.0,
                 "supply_air_c": 20.0, "crah_airflow": airflow(k)} for k in range(48)]  # fmt: skip

    held = plot("s", {"rules": rows(lambda k: 1.0)}, tmp_path / "held.png")
    moved = plot("s", {"rules": rows(lambda k: 1.0), "policy": rows(lambda k: 0.8 + k / 240)},
                 tmp_path / "moved.png")  # fmt: skip
    assert _png_height(held) == 1100  # four panels of 2.5 in at 110 dpi
    assert _png_height(moved) == 1375  # and the air flow's
