from __future__ import annotations

import numpy as np
import pytest

from cooling.plant import plant as plantmod
from cooling.spec import load_site, replace_checked, site_names, with_crah_airflow

pytest_plugins = ["tests.influx_server"]  # the influxd and victoria_metrics fixtures

SITES = site_names()


@pytest.fixture(params=SITES)
def site(request):
    return load_site(request.param)


def with_changes(spec, **changes):
    """A copy of a site spec with some fields replaced (validated again)."""
    return replace_checked(spec, **changes)


def with_airflow(spec, lo=0.8, hi=1.0, ramp=0.1):
    """The site with its CRAH air flow exposed as a setpoint (no shipped site does)."""
    return with_crah_airflow(spec, lo, hi, ramp)


def constant_inputs(spec, n=1, setpoints=None, dry_bulb_c=30.0, wet_bulb_c=22.0, load=0.7):
    params = plantmod.params_from_spec(spec).repeat(n)
    vec = np.array(
        setpoints if setpoints is not None else [7.0, 18.0, 29.4, 1.0, 0.0, 1.0], dtype=float
    )
    sp = plantmod.Setpoints(np.tile(vec, (n, 1)))
    it_kw = spec.it.capacity_kw * load
    dist = plantmod.Disturbances(np.tile([dry_bulb_c, wet_bulb_c, it_kw], (n, 1)))
    return params, sp, dist


def load_benchmark(name: str):
    """A script of benchmarks/ (not a package) loaded as a module."""
    import importlib.util

    from cooling.spec import ENVS_DIR

    path = ENVS_DIR.parent / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
