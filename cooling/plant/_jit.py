"""The one compilation setting of the plant's numerical code.

``jit`` compiles a function with numba, caches it on disk and uses NumPy's error model
(no per-division zero checks in the hot loop). No ``fastmath``: results are bit-for-bit
reproducible, and a batch of N plants gives exactly the results of N single runs.

Numba's on-disk cache is keyed on each function's own source file, but the kernels fold
in constants from other modules (record layouts, offsets). So the cache lives in a
folder named after a hash of all the plant's sources: any change to any of them compiles
afresh instead of silently reusing a kernel built against an old layout.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import numba
from numba import njit

_F = TypeVar("_F", bound=Callable[..., Any])

_HERE = Path(__file__).parent
_SOURCES = [*sorted(_HERE.glob("*.py")), _HERE.parent / "records.py", _HERE.parent / "units.py"]


def _cache_dir() -> Path:
    digest = hashlib.sha256()
    for path in _SOURCES:
        digest.update(path.read_bytes())
    digest.update(numba.__version__.encode())
    base = os.environ.get("NUMBA_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return root / "dc-cooling-numba" / digest.hexdigest()[:16]


# numba.config sets its options from the environment at runtime: not declared statically
numba.config.CACHE_DIR = str(_cache_dir())  # type: ignore[attr-defined]

_njit = njit(cache=True, error_model="numpy")


def jit(func: _F) -> _F:
    """Compile ``func`` with numba (``njit(cache=True, error_model="numpy")``).

    Returns numba's dispatcher, typed as ``func`` itself: it is called with the same
    arguments and returns the same values, so callers keep the function's signature.
    """
    return cast(_F, _njit(func))
