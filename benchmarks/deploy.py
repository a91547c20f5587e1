"""Deployment figures: telemetry-to-command latency over a real mosquitto, and how many
InfluxDB points per second the controller's durable spool takes.

    .venv/bin/python benchmarks/deploy.py [--intervals 600] [--json]

Starts its own mosquitto (Debian package) on a free loopback port, runs the virtual
plant and the controller (active mode, the shipped enterprise policy behind the shield)
in this process, and times each interval from the plant publishing its telemetry to the
plant receiving the controller's command: parse, validation, policy, shield, command,
both ways through the broker. Goals (issue 6): p99 under 10 ms; over 50,000 points/s.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cooling.demo import SHIPPED  # noqa: E402
from cooling.hil.virtual_plant import VirtualPlant  # noqa: E402
from cooling.io.influx import bench_spool  # noqa: E402
from cooling.service import Controller, ControllerConfig, ServiceConfig  # noqa: E402
from cooling.spec import load_site  # noqa: E402
from tests.mqtt_server import Mosquitto  # noqa: E402


def latency(intervals: int, speed: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp), auth=True)
        try:
            policy = str(SHIPPED["enterprise"])
            cfg = ServiceConfig(site="enterprise", policy=policy, mode="active",
                                broker=broker.broker("controller"),
                                controller=ControllerConfig(time_scale=speed))  # fmt: skip
            controller = Controller(cfg).start()
            spec = load_site("enterprise")
            days = intervals * spec.interval_s / 86400.0
            plant = VirtualPlant(spec, broker.broker("plant"), speed=speed, days=days,
                                 start_day=112)  # fmt: skip
            plant.run()
            controller.stop()
        finally:
            broker.stop()
    lat = np.array(plant.latency_ms[5:])  # the first few include the policy's warm-up
    return {"intervals": len(lat), "p50_ms": float(np.percentile(lat, 50)),
            "p99_ms": float(np.percentile(lat, 99)), "max_ms": float(lat.max())}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--intervals", type=int, default=600)
    ap.add_argument("--speed", type=float, default=3000.0, help="plant speed (x real time)")
    ap.add_argument("--points", type=int, default=200_000, help="points for the spool figure")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = {"telemetry_to_command": latency(args.intervals, args.speed)}
    with tempfile.TemporaryDirectory() as tmp:
        out["spool"] = bench_spool(args.points, Path(tmp) / "spool.sqlite")
    if args.json:
        print(json.dumps(out))
    else:
        t = out["telemetry_to_command"]
        print(
            f"telemetry → command over mosquitto ({t['intervals']} intervals): "
            f"p50 {t['p50_ms']:.2f} ms, p99 {t['p99_ms']:.2f} ms, max {t['max_ms']:.2f} ms"
        )
        print("spool:", ", ".join(f"{k} {v:,.0f}" for k, v in out["spool"].items()))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
