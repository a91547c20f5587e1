"""Hourly weather: EPW files (or the reduced CSVs shipped in ``envs/data``).

An EPW file has 8 header lines, then 8760 hourly rows; columns 7-10 (1-based) are
dry-bulb [°C], dew point [°C], relative humidity [%] and station pressure [Pa]. EPW has
no wet-bulb column: it is computed with psychrolib's ASHRAE psychrometrics,
``GetTWetBulbFromTDewPoint(T_db, min(T_dp, T_db), p)`` (PHYSICS.md §10). That takes a few
seconds for a year, so the shipped sites use reduced CSVs (made by
``scripts/reduce_data.py``) that carry the wet-bulb already computed the same way.

Rows are in the site's local standard time (EPW's convention: no daylight saving). The EPW
data dictionary's hour 1 is 00:01 to 01:00, and its temperatures hold at the end of their
hour (EnergyPlus interpolates so between rows): the row of 1 January, hour 1 is 1 January
01:00. :class:`Weather` holds the values by hour of the year, so row ``r`` (0-based) sits at
index ``r + 1``, and the last row, 31 December hour 24, at index 0: 1 January 00:00 of the
typical year that wraps (:func:`from_rows`, :func:`to_rows`). The file's UTC offset (the
time-zone field of the EPW ``LOCATION`` line, or a ``# utc_offset_h: -5.0`` comment in a
reduced CSV) lets a deployed controller find the hour of the year of a UTC timestamp.

A file with a gap (a missing or repeated hour), a missing-value marker or a value out of
physical range raises :class:`WeatherError` naming the file, the line and the column.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

HOURS = 8760
EPW_HEADER_LINES = 8
#: Physical limits used to reject corrupt rows [°C, Pa].
DRY_BULB_RANGE_C = (-70.0, 60.0)
DEW_POINT_RANGE_C = (-90.0, 40.0)
PRESSURE_RANGE_PA = (30_000.0, 120_000.0)
UTC_OFFSET_RANGE_H = (-12.0, 14.0)
_OFFSET_COMMENT = "# utc_offset_h:"
#: A non-leap calendar: (month, day, hour 1-24) of each of the 8760 rows.
_CALENDAR = [
    ((t := dt.datetime(2021, 1, 1) + dt.timedelta(hours=h)).month, t.day, t.hour + 1)
    for h in range(HOURS)
]


class WeatherError(ValueError):
    """A weather file is unreadable, has gaps, or holds unphysical values."""


@dataclass(frozen=True)
class Weather:
    """A typical year of hourly weather; arrays of 8760 values by hour of the year, index 0 =
    1 Jan 00:00 (the file's last row: see the module's docstring)."""

    source: str
    dry_bulb_c: np.ndarray
    dew_point_c: np.ndarray
    pressure_pa: np.ndarray
    wet_bulb_c: np.ndarray
    utc_offset_h: float | None = None  # local standard time − UTC [h], where the file says

    def at_hours(self, hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Dry- and wet-bulb [°C] at fractional hours of the year (linear, wraps at year end)."""
        return _interp_hourly(self.dry_bulb_c, hours), _interp_hourly(self.wet_bulb_c, hours)


def from_rows(values: np.ndarray) -> np.ndarray:
    """Hourly values in file order (row ``r`` at the end of hour ``r + 1``) → by hour of year."""
    return np.roll(np.asarray(values, dtype=float), 1)


def to_rows(values: np.ndarray) -> np.ndarray:
    """The inverse of :func:`from_rows`: values by hour of year → the file's row order."""
    return np.roll(np.asarray(values, dtype=float), -1)


def _interp_hourly(values: np.ndarray, hours: np.ndarray) -> np.ndarray:
    h = np.mod(np.asarray(hours, dtype=float), HOURS)
    i0 = np.floor(h).astype(np.int64)
    frac = h - i0
    i1 = (i0 + 1) % HOURS
    out: np.ndarray = values[i0] * (1.0 - frac) + values[i1] * frac
    return out


def wet_bulb_c(
    dry_bulb_c: np.ndarray, dew_point_c: np.ndarray, pressure_pa: np.ndarray
) -> np.ndarray:
    """Wet-bulb temperature [°C] from dry-bulb, dew point and pressure (psychrolib, SI)."""
    import psychrolib

    psychrolib.SetUnitSystem(psychrolib.SI)
    return np.array(
        [
            psychrolib.GetTWetBulbFromTDewPoint(float(tdb), float(min(tdp, tdb)), float(p))
            for tdb, tdp, p in zip(dry_bulb_c, dew_point_c, pressure_pa, strict=True)
        ]
    )


def _check_row(path: Path, line: int, month: int, day: int, hour: int, index: int) -> None:
    if index >= HOURS:
        raise WeatherError(f"{path}:{line}: more than {HOURS} hourly rows")
    want = _CALENDAR[index]
    if (month, day, hour) != want:
        raise WeatherError(
            f"{path}:{line}: gap or disorder in the hourly series: found month/day/hour "
            f"{month}/{day}/{hour}, expected {want[0]}/{want[1]}/{want[2]} "
            f"(a typical year has {HOURS} consecutive hours)"
        )


def _check_value(path: Path, line: int, column: str, value: float, lo: float, hi: float) -> None:
    if not lo <= value <= hi:
        raise WeatherError(
            f"{path}:{line}: {column} = {value:g} is outside {lo:g}..{hi:g} "
            "(a missing-value marker such as 99.9 or 999999, or a corrupt row)"
        )


def _float(path: Path, line: int, column: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise WeatherError(f"{path}:{line}: {column} is not a number: {text!r}") from None


def _utc_offset(path: Path, line: int, text: str) -> float:
    offset = _float(path, line, "time zone (UTC offset, h)", text)
    _check_value(path, line, "time zone (UTC offset, h)", offset, *UTC_OFFSET_RANGE_H)
    return offset


def read_epw(path: str | Path) -> Weather:
    """Read an EnergyPlus EPW file, validating it, and compute the wet-bulb."""
    path = Path(path)
    tdb = np.empty(HOURS)
    tdp = np.empty(HOURS)
    pres = np.empty(HOURS)
    n = 0
    offset = None
    with path.open(newline="", encoding="latin-1") as f:
        for line_no, row in enumerate(csv.reader(f), start=1):
            if line_no == 1 and row and row[0].upper() == "LOCATION" and len(row) > 8:
                offset = _utc_offset(path, line_no, row[8])
            if line_no <= EPW_HEADER_LINES or not row:
                continue
            if len(row) < 10:
                raise WeatherError(f"{path}:{line_no}: {len(row)} columns, an EPW row has 35")
            month, day, hour = (int(_float(path, line_no, "date", x)) for x in row[1:4])
            _check_row(path, line_no, month, day, hour, n)
            tdb[n] = _float(path, line_no, "dry-bulb", row[6])
            tdp[n] = _float(path, line_no, "dew point", row[7])
            pres[n] = _float(path, line_no, "pressure", row[9])
            _check_value(path, line_no, "dry-bulb [°C]", tdb[n], *DRY_BULB_RANGE_C)
            _check_value(path, line_no, "dew point [°C]", tdp[n], *DEW_POINT_RANGE_C)
            _check_value(path, line_no, "pressure [Pa]", pres[n], *PRESSURE_RANGE_PA)
            n += 1
    if n != HOURS:
        raise WeatherError(f"{path}: {n} hourly rows, a typical year has {HOURS}")
    twb = wet_bulb_c(tdb, tdp, pres)
    return Weather(
        str(path), from_rows(tdb), from_rows(tdp), from_rows(pres), from_rows(twb), offset
    )


REDUCED_COLUMNS = ("month", "day", "hour", "dry_bulb_c", "dew_point_c", "pressure_pa", "wet_bulb_c")


def read_reduced(path: str | Path) -> Weather:
    """Read a reduced weather CSV (``#`` comment lines, then the columns of REDUCED_COLUMNS)."""
    path = Path(path)
    cols: dict[str, list[float]] = {c: [] for c in REDUCED_COLUMNS[3:]}
    n = 0
    offset = None
    with path.open(newline="") as f:
        text = f.read().splitlines(keepends=True)
    comments = [(k, ln) for k, ln in enumerate(text, start=1) if ln.startswith("#")]
    physical = [k for k, ln in enumerate(text, start=1) if not ln.startswith("#")]
    reader = csv.DictReader(ln for ln in text if not ln.startswith("#"))
    if reader.fieldnames is None or tuple(reader.fieldnames) != REDUCED_COLUMNS:
        raise WeatherError(f"{path}: header must be {','.join(REDUCED_COLUMNS)}")
    for row in reader:
        line_no = physical[reader.line_num - 1]  # the file's own line, comments counted
        month, day, hour = (int(_float(path, line_no, k, row[k])) for k in REDUCED_COLUMNS[:3])
        _check_row(path, line_no, month, day, hour, n)
        for c in cols:
            cols[c].append(_float(path, line_no, c, row[c]))
        _check_value(path, line_no, "dry_bulb_c", cols["dry_bulb_c"][-1], *DRY_BULB_RANGE_C)
        _check_value(path, line_no, "wet_bulb_c", cols["wet_bulb_c"][-1], *DEW_POINT_RANGE_C)
        _check_value(path, line_no, "pressure_pa", cols["pressure_pa"][-1], *PRESSURE_RANGE_PA)
        n += 1
    if n != HOURS:
        raise WeatherError(f"{path}: {n} hourly rows, a typical year has {HOURS}")
    arrays = {c: from_rows(np.array(v)) for c, v in cols.items()}
    if np.any(arrays["wet_bulb_c"] > arrays["dry_bulb_c"] + 1e-6):
        raise WeatherError(f"{path}: wet-bulb above dry-bulb in some rows")
    for k, comment in comments:
        if comment.startswith(_OFFSET_COMMENT):
            value = comment[len(_OFFSET_COMMENT) :].split()
            offset = _utc_offset(path, k, value[0] if value else "")
    return Weather(str(path), **arrays, utc_offset_h=offset)


@lru_cache(maxsize=16)
def _load_cached(path: str, mtime: float) -> Weather:
    p = Path(path)
    weather = read_epw(p) if p.suffix.lower() == ".epw" else read_reduced(p)
    # every caller shares the cached arrays: read-only, as the workload and carbon traces
    for name in ("dry_bulb_c", "dew_point_c", "pressure_pa", "wet_bulb_c"):
        getattr(weather, name).setflags(write=False)
    return weather


def load_weather(path: str | Path) -> Weather:
    """Load an EPW or reduced-CSV weather file (cached per file and modification time)."""
    p = Path(path)
    if not p.is_file():
        raise WeatherError(f"{p}: weather file not found")
    return _load_cached(str(p.resolve()), p.stat().st_mtime)
