"""Telemetry throughput of the InfluxDB edge: encode → spool, and spool → server.

    .venv/bin/python benchmarks/influx_spool.py [--points 100000] [--url URL] [--json]

Without ``--url`` nothing is started: points/s for :func:`cooling.io.influx.encode` and
:meth:`Spool.append` in batches of 500 realistic controller points (one tick = 39 lines).
With ``--url`` (an InfluxDB 1.x reachable over ``/write``; the database is created) also
the rate from :meth:`InfluxSink.write` of encoded lines until the server has confirmed them
all, and of the sender alone draining a pre-filled spool.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from cooling.io.influx import (
    InfluxConfig,
    InfluxSink,
    bench_spool,
    controller_tick,
    ensure_database,
)


def bench_send(url: str, database: str, n: int, batch_size: int, tmp: Path) -> dict[str, float]:
    """Points/s from :meth:`InfluxSink.write` until the server confirmed them all (lines
    encoded beforehand), and of the sender alone draining a full spool; a v1 server."""
    ticks = max(1, n // len(controller_tick("bench", 0)))
    lines = [ln for k in range(ticks) for ln in controller_tick("bench", 1_700_000_000_000 + k)]
    result: dict[str, float] = {"points": float(len(lines))}
    for name, start in (("write_to_stored_points_per_s", True), ("send_points_per_s", False)):
        cfg = InfluxConfig(
            url=url,
            database=database,
            batch_size=batch_size,
            spool_path=str(tmp / f"{name}.sqlite"),
            spool_max_points=len(lines) + 1,
            timeout_s=30.0,
        )
        if not ensure_database(cfg):
            raise SystemExit(f"cannot create database {database!r} at {url}")
        sink = InfluxSink(cfg, start=start)
        t0 = time.perf_counter()
        for i in range(0, len(lines), 500):
            sink.write(lines[i : i + 500])
        if not start:  # time the sender alone on a full spool
            t0 = time.perf_counter()
            sink.start()
        if not sink.flush(600):
            raise SystemExit(f"server did not take every point within 600 s: {sink.stats()}")
        result[name] = len(lines) / (time.perf_counter() - t0)
        stats = sink.stats()
        sink.close()
        if stats["dead_letter"] or stats["errors"]:
            raise SystemExit(f"refused or failed writes: {stats}")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--url", help="an InfluxDB 1.x, e.g. http://127.0.0.1:8086")
    ap.add_argument("--database", default="dcc_bench")
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = {"spool": bench_spool(args.points, Path(tmp) / "spool.sqlite")}
        if args.url:
            result["send"] = bench_send(
                args.url, args.database, args.points, args.batch_size, Path(tmp)
            )
    if args.json:
        print(json.dumps(result))
        return 0
    spool = result["spool"]
    print(
        f"{int(spool['points'])} points, {spool['bytes_per_point']:.0f} bytes each (line protocol)"
    )
    print(f"  encode            {spool['encode_points_per_s']:>10,.0f} points/s")
    print(f"  spool append      {spool['append_points_per_s']:>10,.0f} points/s")
    print(f"  encode + spool    {spool['spooled_points_per_s']:>10,.0f} points/s")
    if "send" in result:
        send = result["send"]
        rate = send["write_to_stored_points_per_s"]
        print(f"  write → stored    {rate:>10,.0f} points/s ({args.url})")
        print(f"  sender alone      {send['send_points_per_s']:>10,.0f} points/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
