"""Reading a year of hourly values from one column of a CSV, validated."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np

HOURS = 8760


@lru_cache(maxsize=32)
def _read(
    path: str, mtime: float, column: str, lo: float, hi: float, what: str, error: type[Exception]
) -> np.ndarray:
    p = Path(path)
    values: list[float] = []
    with p.open(newline="") as f:
        reader = csv.DictReader(ln for ln in f if not ln.startswith("#"))
        if reader.fieldnames is None or column not in reader.fieldnames:
            raise error(f"{p}: needs a column {column!r} ({what})")
        for row in reader:
            try:
                v = float(row[column])
            except (TypeError, ValueError):
                raise error(
                    f"{p}:{reader.line_num}: {column} is not a number: {row[column]!r}"
                ) from None
            if not lo <= v <= hi:
                raise error(
                    f"{p}:{reader.line_num}: {column} = {v:g} is outside {lo:g}..{hi:g} ({what})"
                )
            values.append(v)
    if len(values) != HOURS:
        raise error(f"{p}: {len(values)} hourly rows, one year has {HOURS}")
    arr = np.array(values)
    arr.setflags(write=False)
    return arr


def read_hourly_column(
    path: str | Path, column: str, lo: float, hi: float, what: str, error: type[Exception]
) -> np.ndarray:
    """8760 hourly values of ``column`` within [lo, hi] (cached per file and mtime).

    ``#`` lines are comments. A missing file or column, a non-number, a value out of
    range or a row count other than 8760 raises ``error`` naming the file and line.
    """
    p = Path(path)
    if not p.is_file():
        raise error(f"{p}: file not found ({what})")
    # ``error`` is a class, so hashable: mypy misreads type[...] as not Hashable (python/mypy#11470)
    return _read(str(p.resolve()), p.stat().st_mtime, column, lo, hi, what, error)  # type: ignore[arg-type]
