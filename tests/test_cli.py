"""The ``cooling`` command, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

from cooling import cli
from cooling.control import safety

KEYS = {
    "pue", "it_kwh", "facility_kwh", "cooling_kwh", "cooling_breakdown_kwh", "water_l",
    "carbon_kg", "minutes_above_recommended", "minutes_above_allowable", "max_inlet_c",
}  # fmt: skip


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "cooling.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_simulate_json_prints_one_object_with_the_issue_keys():
    out = run("simulate", "--site", "hyperscale", "--days", "1", "--start", "20", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert KEYS <= set(report)
    assert report["site"] == "hyperscale" and report["controller"] == "fixed"
    assert 1.0 < report["pue"] < 2.0
    parts = sum(report["cooling_breakdown_kwh"].values())
    assert parts == __import__("pytest").approx(report["cooling_kwh"], rel=1e-9)


def test_simulate_table_without_json():
    out = run("simulate", "--site", "enterprise", "--days", "0.5")
    assert out.returncode == 0, out.stderr
    assert "PUE" in out.stdout and "max rack inlet" in out.stdout


def test_bad_arguments_get_clear_errors():
    out = run("simulate", "--site", "atlantis")
    assert out.returncode == 2 and "unknown site 'atlantis'" in out.stderr
    out = run("simulate", "--days", "-3")
    assert out.returncode == 2 and "must be > 0" in out.stderr
    out = run("simulate", "--start", "400")
    assert out.returncode == 2 and "0..364" in out.stderr


def test_simulate_other_controllers_and_bad_controller():
    out = run("simulate", "--site", "highdensity", "--controller", "rules", "--days", "1", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["controller"] == "rules"
    out = run("simulate", "--controller", "magic")
    assert out.returncode == 2 and "invalid choice: 'magic'" in out.stderr
    out = run("simulate", "--days", "0")
    assert out.returncode == 2 and "must be > 0" in out.stderr


def test_simulate_with_the_shield_reports_its_work():
    out = run(
        "simulate", "--controller", "adversarial", "--shield", "--days", "0.5", "--start", "185",
        "--perturb", "0.1", "--sensor-noise", "0.1", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["shield"] is True and report["shield_interventions"] > 0
    assert "fallback_steps" in report
    assert report["minutes_above_recommended"] == 0.0
    assert report["shield_robust_fraction"] == 0.1  # the shield's default pessimism
    assert report["shield_pull_back"] == "cheapest"
    out = run("simulate", "--perturb", "0.9")
    assert out.returncode == 2 and "0..0.5" in out.stderr


def test_the_shields_pessimism_is_a_command_line_setting():
    out = run(
        "simulate", "--controller", "adversarial", "--shield", "--shield-robust-fraction", "0.05",
        "--days", "0.2", "--start", "185", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["shield_robust_fraction"] == 0.05
    out = run("evaluate", "--policy", "random", "--site", "enterprise", "--shield",
              "--shield-robust-fraction", "0.05", "--baselines", "none", "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["shield"]["robust_fraction"] == 0.05
    assert result["controllers"]["policy"]["shield_interventions"] > 0
    out = run("evaluate", "--policy", "random", "--site", "enterprise", "--shield",
              "--shield-pull-back", "together", "--baselines", "none", "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["shield"]["pull_back"] == "together"
    assert cli.PULL_BACKS == safety.PULL_BACKS  # the CLI's copy of the choices
    for command in (["simulate", "--days", "0.1"],
                    ["evaluate", "--policy", "random", "--site", "enterprise"]):  # fmt: skip
        out = run(*command, "--shield-robust-fraction", "0.05")
        assert out.returncode == 2 and "give --shield too" in out.stderr
        out = run(*command, "--shield-pull-back", "together")
        assert out.returncode == 2 and "--shield-pull-back tunes the shield" in out.stderr
        out = run(*command, "--shield", "--shield-pull-back", "nearest")
        assert out.returncode == 2 and "invalid choice: 'nearest'" in out.stderr
        out = run(*command, "--shield", "--shield-robust-fraction", "0.7")
        assert out.returncode == 2 and "--shield-robust-fraction: must be in 0..0.5" in out.stderr
    out = run("simulate", "--controller", "nan", "--days", "0.1")
    assert out.returncode == 2 and "non-finite setpoint" in out.stderr


def test_evaluate_bad_arguments():
    out = run("evaluate", "--policy", "random")
    assert out.returncode == 2 and "--site is needed" in out.stderr
    out = run("evaluate", "--policy", "/nowhere/policy.zip", "--site", "enterprise")
    assert out.returncode == 2 and "policy not found" in out.stderr
    out = run("evaluate", "--policy", "random", "--site", "enterprise", "--weeks", "some")
    assert out.returncode == 2 and "invalid choice: 'some'" in out.stderr
    out = run("evaluate", "--policy", "random", "--site", "enterprise", "--perturb", "0.9")
    assert out.returncode == 2 and "must be in 0..0.5, got 0.9" in out.stderr


def test_deployment_commands_refuse_bad_configs_and_arguments(tmp_path):
    missing = run("shadow", "--config", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "controller config not found" in missing.stderr
    bad = tmp_path / "bad.yaml"
    cases = {
        "site: enterprise\npolicy: rules\nbrokr: {}\n": "unknown key 'brokr'",
        "site: enterprise\npolicy: rules\nbroker: {port: 99999}\n": "port must be in 1..65535",
        "site: enterprise\npolicy: rules\nbroker: {colour: blue}\n": "unknown key 'colour'",
        "site: enterprise\npolicy: rules\ncontroller: {time_scale: 0}\n": "time_scale must be",
        "site: enterprise\npolicy: rules\ninflux: {url: 'ftp://x', database: d}\n": "url",
        "site: atlantis\npolicy: rules\n": "unknown site 'atlantis'",
        "site: enterprise\npolicy: agents/none/policy.zip\n": "policy not found",
        "policy: rules\n": "site is required",
    }
    for text, message in cases.items():
        bad.write_text(text)
        out = run("run", "--config", str(bad))
        assert out.returncode == 2, (text, out.stderr)
        assert message in out.stderr, (text, out.stderr)
    out = run("virtual-plant", "--broker", "nonsense")
    assert out.returncode == 2 and "--broker must be HOST:PORT" in out.stderr
    out = run("virtual-plant", "--speed", "-3")
    assert out.returncode == 2 and "must be > 0" in out.stderr
    out = run("virtual-plant", "--utc-offset-h", "20")
    assert out.returncode == 2 and "UTC offset must be in -12..14 hours, got 20" in out.stderr
