"""Reduce the team's shared traces to what the code reads, into envs/data/.

    python scripts/reduce_data.py [SHARED_DATA_DIR]

Weather: EPW → CSV of month, day, hour, dry-bulb, dew point, pressure and the wet-bulb
computed with psychrolib (as cooling.plant.weather.read_epw does). Workload: the
hourly ``cpu_load`` column. Carbon: the hourly ``avg_CI`` column. Provenance in
envs/data/SOURCES.md.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

from cooling.plant.weather import _CALENDAR, REDUCED_COLUMNS, read_epw, to_rows

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "envs" / "data"
WEATHER = {
    "USA_GA_Atlanta-Hartsfield-Jackson.epw": "atlanta.csv",
    "USA_IL_Chicago.OHare.epw": "chicago.csv",
    "USA_AZ_Phoenix-Sky.Harbor.epw": "phoenix.csv",
}
WORKLOAD = {"alibaba_cpu_hourly.csv": "alibaba.csv", "google_cpu_hourly.csv": "google.csv"}
#: balancing authority → (file, the EPW of the site it serves: its hours are shifted from
#: UTC to that EPW's time zone, the site's local standard time)
CARBON = {
    "SOCO": ("soco.csv", "USA_GA_Atlanta-Hartsfield-Jackson.epw"),
    "MISO": ("miso.csv", "USA_IL_Chicago.OHare.epw"),
    "AZPS": ("azps.csv", "USA_AZ_Phoenix-Sky.Harbor.epw"),
}


def main(shared: Path) -> None:
    for src, dst in WEATHER.items():
        w = read_epw(shared / "weather" / src)
        if w.utc_offset_h is None:
            raise SystemExit(f"{src}: its header gives no time zone (the rows' local time)")
        with (OUT / "weather" / dst).open("w", newline="") as f:
            f.write(
                f"# reduced from {src} (TMYx, climate.onebuilding.org via HewlettPackard/dc-rl)\n"
            )
            f.write("# wet_bulb_c: psychrolib GetTWetBulbFromTDewPoint(T_db, min(T_dp, T_db), p)\n")
            f.write(f"# utc_offset_h: {w.utc_offset_h:.1f} (the EPW's time zone: rows are local "
                    "standard time)\n")  # fmt: skip
            out = csv.writer(f)
            out.writerow(REDUCED_COLUMNS)
            # the EPW's rows, in its order and under its labels (Weather holds them by hour)
            dry, dew, pres, wet = (to_rows(a) for a in (w.dry_bulb_c, w.dew_point_c,
                                                        w.pressure_pa, w.wet_bulb_c))  # fmt: skip
            for i, (m, d, h) in enumerate(_CALENDAR):
                out.writerow(
                    [m, d, h, f"{dry[i]:.1f}", f"{dew[i]:.1f}", f"{pres[i]:.0f}", f"{wet[i]:.3f}"]
                )
    for src, dst in WORKLOAD.items():
        with (shared / "workload" / src).open() as f:
            rows = list(csv.DictReader(f))
        dropped = len(rows) - 8760
        rows = rows[:8760]  # one year; the Alibaba aggregate runs 144 h beyond it
        with (OUT / "workload" / dst).open("w", newline="") as f:
            f.write(
                f"# reduced from {src} (hourly CPU utilisation, via HewlettPackard/dc-rl); "
                f"first 8760 hours kept, {dropped} dropped\n"
            )
            out = csv.writer(f)
            out.writerow(["hour", "cpu_load"])
            for i, r in enumerate(rows):
                out.writerow([i, f"{float(r['cpu_load']):.5f}"])
    for src, (dst, epw) in CARBON.items():
        offset = read_epw(shared / "weather" / epw).utc_offset_h
        if offset is None or offset != int(offset):
            raise SystemExit(f"{epw}: its header gives no whole-hour time zone ({offset})")
        utc_offset_h = int(offset)
        with (shared / "carbon" / f"{src}_carbon_intensity.csv").open() as f:
            rows = list(csv.DictReader(f))
        ci = np.array([float(r["avg_CI"]) if r["avg_CI"] else np.nan for r in rows])
        gaps = np.flatnonzero(np.isnan(ci))
        ok = np.flatnonzero(~np.isnan(ci))
        ci[gaps] = np.interp(gaps, ok, ci[ok])  # a few missing hours in the EIA data
        local = np.roll(ci, utc_offset_h)  # UTC → the site's local standard time
        with (OUT / "carbon" / dst).open("w", newline="") as f:
            f.write(
                f"# reduced from {src}_carbon_intensity.csv (US EIA 2022, via HewlettPackard/"
                f"dc-rl); shifted from UTC to UTC{utc_offset_h:+d}; "
                f"{len(gaps)} missing hour(s) filled by linear interpolation\n"
            )
            out = csv.writer(f)
            out.writerow(["hour", "avg_ci_g_per_kwh"])
            for i, v in enumerate(local):
                out.writerow([i, f"{v:.1f}"])


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data")
