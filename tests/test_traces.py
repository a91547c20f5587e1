"""Weather, workload and carbon traces: shipped data, validation, bad files."""

from __future__ import annotations

import numpy as np
import pytest

from cooling.plant import weather as wx
from cooling.plant.carbon import CarbonError, load_carbon
from cooling.plant.workload import WorkloadError, ar1_noise, load_utilisation
from cooling.spec import ENVS_DIR, load_site

REDUCED = ENVS_DIR / "data" / "weather" / "chicago.csv"


def test_shipped_weather_is_a_full_year_with_psychrolib_wet_bulb():
    w = wx.load_weather(REDUCED)
    assert w.dry_bulb_c.shape == (8760,)
    assert np.all(w.wet_bulb_c <= w.dry_bulb_c + 1e-9)
    # Chicago: mean dry-bulb ≈ 10 °C, wet-bulb max ≈ 27-29 °C (PHYSICS.md §10, TMYx here)
    assert 8.5 < w.dry_bulb_c.mean() < 11.5
    assert 24.0 < w.wet_bulb_c.max() < 30.0
    rows = [0, 4000, 5000, 8759]
    recomputed = wx.wet_bulb_c(w.dry_bulb_c[rows], w.dew_point_c[rows], w.pressure_pa[rows])
    np.testing.assert_allclose(recomputed, w.wet_bulb_c[rows], atol=2e-3)


def _write_epw(path, w, drop_row=None, patch=None):
    lines = [f"HEADER {i}" for i in range(8)]
    dry, dew, pres = (wx.to_rows(a) for a in (w.dry_bulb_c, w.dew_point_c, w.pressure_pa))
    for i, (m, d, h) in enumerate(wx._CALENDAR):
        if i == drop_row:
            continue
        row = ["2021", str(m), str(d), str(h), "0", "flags"]
        row += [f"{dry[i]:.1f}", f"{dew[i]:.1f}", "50", f"{pres[i]:.0f}"]
        row += ["0"] * 25
        if patch and patch[0] == i:
            row[patch[1]] = patch[2]
        lines.append(",".join(row))
    path.write_text("\n".join(lines) + "\n")


def test_epw_reader_computes_the_same_wet_bulb(tmp_path):
    w = wx.load_weather(REDUCED)
    path = tmp_path / "chicago.epw"
    _write_epw(path, w)
    epw = wx.read_epw(path)
    np.testing.assert_allclose(epw.dry_bulb_c, w.dry_bulb_c)
    np.testing.assert_allclose(epw.wet_bulb_c, w.wet_bulb_c, atol=2e-3)


def test_an_epw_rows_values_hold_at_the_end_of_its_hour(tmp_path):
    # EPW row "1/1 hour 3" is 1 Jan 03:00 (EnergyPlus's reading), and the last row,
    # "12/31 hour 24", is midnight, where the typical year wraps to 1 Jan 00:00
    w = wx.load_weather(REDUCED)
    path = tmp_path / "spike.epw"
    _write_epw(path, w, patch=(2, 6, "45.0"))  # the third row: 1/1 hour 3
    epw = wx.read_epw(path)
    dry, _ = epw.at_hours(np.array([2.0, 3.0, 4.0]))
    assert dry[1] == 45.0 and dry[0] < 45.0 and dry[2] < 45.0
    last = float(path.read_text().splitlines()[-1].split(",")[6])  # the file's 12/31 hour 24
    assert epw.at_hours(np.array([0.0, 8760.0]))[0].tolist() == [last, last]
    # the reduced CSV labels its rows as the EPW does
    text = REDUCED.read_text().splitlines()
    first = next(ln for ln in text if ln.startswith("1,1,"))
    assert first.startswith("1,1,1,") and float(first.split(",")[3]) == w.dry_bulb_c[1]


def test_epw_with_a_gap_is_rejected_naming_line(tmp_path):
    w = wx.load_weather(REDUCED)
    path = tmp_path / "gap.epw"
    _write_epw(path, w, drop_row=100)
    with pytest.raises(wx.WeatherError, match=r"gap.epw:109: gap or disorder.*expected 1/5/5"):
        wx.read_epw(path)


def test_epw_missing_marker_is_rejected(tmp_path):
    w = wx.load_weather(REDUCED)
    path = tmp_path / "missing.epw"
    _write_epw(path, w, patch=(10, 6, "99.9"))
    with pytest.raises(wx.WeatherError, match=r"missing.epw:19: dry-bulb.*99.9 is outside"):
        wx.read_epw(path)


def test_reduced_csv_with_a_gap_is_rejected(tmp_path):
    lines = REDUCED.read_text().splitlines()
    path = tmp_path / "short.csv"
    path.write_text("\n".join(lines[:500] + lines[501:]) + "\n")
    # the physical line of the first row out of order (the file's comments counted)
    with pytest.raises(wx.WeatherError, match=r"short\.csv:501: gap or disorder"):
        wx.read_reduced(path)


def test_weather_files_give_the_sites_utc_offset(tmp_path):
    # the shipped sites: Atlanta (enterprise) −5, Chicago (hyperscale) −6, Phoenix −7,
    # as their EPW LOCATION lines say
    offsets = {n: wx.load_weather(load_site(n).path(load_site(n).weather)).utc_offset_h
               for n in ("enterprise", "hyperscale", "highdensity")}  # fmt: skip
    assert offsets == {"enterprise": -5.0, "hyperscale": -6.0, "highdensity": -7.0}
    w = wx.load_weather(REDUCED)
    path = tmp_path / "x.epw"
    _write_epw(path, w)
    assert wx.read_epw(path).utc_offset_h is None  # no LOCATION line
    text = path.read_text().replace(
        "HEADER 0", "LOCATION,Somewhere,XX,YY,SRC,0,41.9,-87.9,-6.0,201"
    )
    path.write_text(text)
    assert wx.read_epw(path).utc_offset_h == -6.0
    path.write_text(text.replace(",-6.0,", ",-31,"))
    with pytest.raises(wx.WeatherError, match=r"x.epw:1: time zone.*-31 is outside -12..14"):
        wx.read_epw(path)
    bad = tmp_path / "bad.csv"
    bad.write_text(REDUCED.read_text().replace("# utc_offset_h: -6.0", "# utc_offset_h: minus six"))
    with pytest.raises(wx.WeatherError, match=r"bad.csv:3: time zone .* not a number: 'minus'"):
        wx.read_reduced(bad)


def test_weather_interpolates_and_wraps():
    w = wx.load_weather(REDUCED)
    dry, _ = w.at_hours(np.array([10.5, 8759.5]))
    assert dry[0] == pytest.approx(0.5 * (w.dry_bulb_c[10] + w.dry_bulb_c[11]))
    assert dry[1] == pytest.approx(0.5 * (w.dry_bulb_c[8759] + w.dry_bulb_c[0]))


def test_loaded_weather_is_shared_read_only():
    # load_weather caches per file: one caller writing into the arrays would change every
    # later run's weather
    w = wx.load_weather(REDUCED)
    assert wx.load_weather(REDUCED) is w
    for name in ("dry_bulb_c", "dew_point_c", "pressure_pa", "wet_bulb_c"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(w, name)[0] = 99.0


def test_workload_rejects_negative_load(tmp_path):
    path = tmp_path / "load.csv"
    path.write_text(
        "hour,cpu_load\n" + "\n".join(f"{i},0.5" for i in range(8759)) + "\n8759,-0.2\n"
    )
    with pytest.raises(WorkloadError, match=r"cpu_load = -0.2 is outside 0..1 .*negative"):
        load_utilisation(path)
    site = load_site("enterprise")
    u = load_utilisation(site.path(site.it.workload))
    assert u.shape == (8760,) and 0.1 < u.mean() < 0.8


def test_carbon_trace_is_plausible_and_validated(tmp_path):
    site = load_site("hyperscale")
    ci = load_carbon(site.path(site.carbon))
    assert 300 < ci.mean() < 700  # MISO, coal-heavy grid
    path = tmp_path / "ci.csv"
    path.write_text("hour,avg_ci_g_per_kwh\n0,abc\n")
    with pytest.raises(CarbonError, match="not a number"):
        load_carbon(path)


def test_ar1_noise_is_seeded_and_has_the_given_spread():
    a = ar1_noise(np.array([1, 2]), 20000, 0.02, 0.95)
    b = ar1_noise(np.array([2]), 20000, 0.02, 0.95)
    np.testing.assert_array_equal(a[:, 1], b[:, 0])
    assert a[:, 0].std() == pytest.approx(0.02, rel=0.15)
    lag1 = np.corrcoef(a[1:, 0], a[:-1, 0])[0, 1]
    assert lag1 == pytest.approx(0.95, abs=0.02)
