"""Chiller model: validation against the published curves, physics properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cooling.plant import chiller
from cooling.records import CURVES

DOE2 = chiller.record(CURVES["doe2_centrifugal_5.50cop"], 1000.0)
YORK = chiller.record(CURVES["york_yt_1758kw_5.76cop_vsd"], 1758.0)


@pytest.mark.parametrize(
    ("rec", "chws_c", "ecwt_c", "cop_ref"),
    [  # PHYSICS.md §1.1, "Sensitivities (computed, PLR = 1)"
        (DOE2, 6.67, 29.4, 5.51),
        (DOE2, 5.0, 29.4, 5.15),
        (DOE2, 10.0, 29.4, 5.88),
        (DOE2, 6.67, 24.0, 6.18),
        (DOE2, 6.67, 35.0, 4.81),
        (YORK, 5.56, 24.44, 5.54),
        (YORK, 10.0, 24.44, 6.71),
        (YORK, 5.56, 13.0, 6.90),
        (YORK, 10.0, 13.0, 7.58),
    ],
)
def test_full_load_cop_matches_reference(rec, chws_c, ecwt_c, cop_ref):
    # the table's COP is COP_ref/EIRFT of the raw curve (coefficients entered right) ...
    raw_eir = chiller.biquadratic(rec, chiller.EIRFT0, chws_c, ecwt_c)
    assert rec[chiller.COP_REF] / raw_eir == pytest.approx(cop_ref, abs=0.015)
    # ... and the model (EIRFPLR(1) ≈ 1, corner held at its stationary point) within 1 %
    assert chiller.cop(rec, chws_c, ecwt_c, 1.0) == pytest.approx(cop_ref, rel=0.01)


def test_capacity_is_reference_at_reference_point():
    assert chiller.available_capacity_kw(DOE2, 6.67, 29.4) == pytest.approx(1000.0, rel=0.01)
    assert chiller.available_capacity_kw(YORK, 5.56, 24.44) == pytest.approx(1758.0, rel=0.01)


@pytest.mark.parametrize(
    ("rec", "plr", "relative_kw_per_kw"),
    # PHYSICS.md §1.1: EIRFPLR/PLR, DOE-2 constant speed 1.52 @0.2; York VSD 0.67 @0.3
    [(DOE2, 0.2, 1.52), (DOE2, 0.5, 0.99), (YORK, 0.3, 0.67), (YORK, 0.75, 0.84)],
)
def test_part_load_curve(rec, plr, relative_kw_per_kw):
    assert chiller.eir_fplr(rec, plr) / plr == pytest.approx(relative_kw_per_kw, abs=0.01)


def test_capacity_limit_delivers_at_most_plr_max():
    q_avail = chiller.available_capacity_kw(DOE2, 7.0, 30.0)
    q, power, plr = chiller.operate(DOE2, 2.0 * q_avail, 7.0, 30.0)
    assert q == pytest.approx(q_avail)  # PLR_max = 1.0
    assert plr == pytest.approx(1.0)
    assert power > 0


def test_cycling_below_minimum_plr_scales_power_down():
    q_avail = chiller.available_capacity_kw(DOE2, 7.0, 30.0)
    _, p_min, _ = chiller.operate(DOE2, 0.1 * q_avail, 7.0, 30.0)
    _, p_half, _ = chiller.operate(DOE2, 0.05 * q_avail, 7.0, 30.0)
    assert p_half == pytest.approx(0.5 * p_min, rel=1e-9)


temps = st.floats(min_value=4.0, max_value=20.0)
cond = st.floats(min_value=10.0, max_value=40.0)
plrs = st.floats(min_value=0.15, max_value=1.0)


@settings(max_examples=300, deadline=None)
@given(chws=temps, ecwt=cond, plr=plrs, dt=st.floats(min_value=0.1, max_value=3.0))
def test_cop_rises_with_chilled_water_temperature(chws, ecwt, plr, dt):
    for rec in (DOE2, YORK):
        assert chiller.cop(rec, chws + dt, ecwt, plr) >= chiller.cop(rec, chws, ecwt, plr) - 1e-9


@settings(max_examples=300, deadline=None)
@given(chws=temps, ecwt=cond, plr=plrs, dt=st.floats(min_value=0.1, max_value=3.0))
def test_cop_falls_with_condenser_water_temperature(chws, ecwt, plr, dt):
    for rec in (DOE2, YORK):
        assert chiller.cop(rec, chws, ecwt + dt, plr) <= chiller.cop(rec, chws, ecwt, plr) + 1e-9


def test_cop_strictly_monotone_inside_validity_range():
    for rec, ts, tc in ((DOE2, (5.0, 10.0), (24.0, 35.0)), (YORK, (5.56, 10.51), (12.78, 24.44))):
        mid_tc = 0.5 * (tc[0] + tc[1])
        mid_ts = 0.5 * (ts[0] + ts[1])
        assert chiller.cop(rec, ts[1], mid_tc, 1.0) > chiller.cop(rec, ts[0], mid_tc, 1.0) + 0.2
        assert chiller.cop(rec, mid_ts, tc[1], 1.0) < chiller.cop(rec, mid_ts, tc[0], 1.0) - 0.2


@settings(max_examples=500, deadline=None)
@given(chws=st.floats(min_value=2.0, max_value=25.0), ecwt=st.floats(5.0, 45.0), plr=plrs)
def test_cop_never_exceeds_carnot(chws, ecwt, plr):
    for rec in (DOE2, YORK):
        c = chiller.cop(rec, chws, ecwt, plr)
        assert c < chiller.carnot_cop(chws, ecwt)
        assert c > 0


def test_extrapolation_keeps_second_law_efficiency():
    # Beyond the DOE-2 curve's 10 °C / 35 °C, COP scales with the cycle's Carnot COP.
    ref_tc, ref_ts = 29.4, 6.67
    warm = chiller.cop(DOE2, 14.0, 30.0, 1.0) / chiller.cop(DOE2, 10.0, 30.0, 1.0)
    carnot = chiller.cycle_carnot_cop(14.0, ref_tc) / chiller.cycle_carnot_cop(10.0, ref_tc)
    assert warm == pytest.approx(carnot, rel=1e-9)
    assert 1.1 < warm < 1.3  # about 4-5 %/K (PHYSICS.md §1.1: 2.5-5 %/K)
    hot = chiller.cop(DOE2, 8.0, 40.0, 1.0) / chiller.cop(DOE2, 8.0, 35.0, 1.0)
    carnot = chiller.cycle_carnot_cop(ref_ts, 40.0) / chiller.cycle_carnot_cop(ref_ts, 35.0)
    assert hot == pytest.approx(carnot, rel=1e-9)
    assert math.isinf(chiller.carnot_cop(10.0, 9.0))
    assert chiller.cycle_carnot_cop(7.0, 30.0) < chiller.carnot_cop(7.0, 30.0)


def test_eir_is_monotone_on_a_dense_grid():
    ts = np.linspace(2.0, 25.0, 120)
    tc = np.linspace(5.0, 45.0, 120)
    for rec in (DOE2, YORK):
        eir = np.array([[chiller.eir_ft(rec, a, b) for b in tc] for a in ts])
        assert np.diff(eir, axis=0).max() <= 1e-12  # falls (COP rises) with CHWS
        assert np.diff(eir, axis=1).min() >= -1e-12  # rises (COP falls) with ECWT


def test_staging_waits_then_stages_up_and_down():
    q_each = 1000.0
    # load above 90 % of one chiller: stage up, but only after the wait
    assert chiller.next_stage(1.0, 3.0, 100.0, 950.0, q_each, 0.9, 0.7, 600.0) == (1.0, 100.0)
    assert chiller.next_stage(1.0, 3.0, 600.0, 950.0, q_each, 0.9, 0.7, 600.0) == (2.0, 0.0)
    # never beyond the installed count
    assert chiller.next_stage(3.0, 3.0, 900.0, 5000.0, q_each, 0.9, 0.7, 600.0)[0] == 3.0
    # two running at 0.3 each would leave one at 0.6 ≤ 0.7: stage down
    assert chiller.next_stage(2.0, 3.0, 900.0, 600.0, q_each, 0.9, 0.7, 600.0) == (1.0, 0.0)
    # no load: the last chiller stops
    assert chiller.next_stage(1.0, 3.0, 900.0, 0.0, q_each, 0.9, 0.7, 600.0) == (0.0, 0.0)
