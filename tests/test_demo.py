"""The demo: the shipped policy of the reference site against the baselines."""

from __future__ import annotations

import json
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
    card = json.loads(SHIPPED[site].with_name("model_card.json").read_text())
    assert card["site"] == site
    assert card["command"].startswith("cooling train --recipe agents/sac.yaml")
    assert SHIPPED[site].with_name("actor.pt").is_file()
    assert card["evaluation"]["violation_step_fraction"] < 0.005
