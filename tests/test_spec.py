"""Site specs: the shipped ones load; broken ones fail with file, key and allowed range."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cooling.spec import ENVS_DIR, SpecError, load_site, site_names, with_crah_airflow


def test_three_contrasting_sites_ship():
    names = site_names()
    assert {"enterprise", "hyperscale", "highdensity"} <= set(names)
    ent, hyp, hd = (load_site(n) for n in ("enterprise", "hyperscale", "highdensity"))
    assert ent.it.capacity_kw == 1000 and ent.economizer is None
    assert hyp.it.capacity_kw == 10000 and hyp.economizer is not None
    per_rack = [hd.it.capacity_kw * z.it_share / z.racks for z in hd.zones]
    assert all(25 <= kw <= 35 for kw in per_rack)


def _broken(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load((ENVS_DIR / "enterprise.yaml").read_text())
    mutate(data)
    # keep the trace paths valid from the temporary folder
    for key in ("weather", "carbon"):
        data[key] = str(ENVS_DIR / data[key])
    data["it"]["workload"] = str(ENVS_DIR / data["it"]["workload"])
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_unknown_key_names_file_key_and_allowed_keys(tmp_path):
    path = _broken(tmp_path, lambda d: d["chillers"].update(capacity_mw=5))
    with pytest.raises(SpecError) as exc:
        load_site(path)
    msg = str(exc.value)
    assert str(path) in msg
    assert "chillers.capacity_mw: unknown key" in msg
    assert "capacity_kw" in msg  # the allowed keys are listed


def test_missing_field(tmp_path):
    path = _broken(tmp_path, lambda d: d.pop("chw_loop"))
    with pytest.raises(SpecError, match=r"chw_loop: missing field"):
        load_site(path)


def test_out_of_range_value_says_allowed_range(tmp_path):
    path = _broken(tmp_path, lambda d: d["chw_loop"].update(pump_efficiency=1.7))
    with pytest.raises(SpecError) as exc:
        load_site(path)
    msg = str(exc.value)
    assert "chw_loop.pump_efficiency" in msg
    assert "1.7" in msg
    assert "allowed: >= 0.3 and <= 0.95" in msg


def test_negative_it_capacity_rejected(tmp_path):
    path = _broken(tmp_path, lambda d: d["it"].update(capacity_kw=-100))
    with pytest.raises(SpecError, match=r"it.capacity_kw.*-100"):
        load_site(path)


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda d: d["zones"][0].update(it_share=0.9), r"it_share must add up to 1"),
        (lambda d: d["chillers"].update(curve="carrier_magic"), r"unknown curve 'carrier_magic'"),
        (lambda d: d["chillers"].update(count=1), r"installed capacity 600 kW is below"),
        (lambda d: d.update(weather="nowhere.csv"), r"weather: file not found"),
        (
            lambda d: d["fixed_setpoints"].update(chw_supply_c=17.0),
            r"fixed_setpoints.chw_supply_c: 17.0 is outside",
        ),
        (
            lambda d: d["setpoints"]["chw_supply_c"].update(min=20.0),
            r"setpoints.chw_supply_c: need 4.0 <= min < max",
        ),
        (
            lambda d: d["setpoints"].update(
                crah_airflow={"min": 0.3, "max": 1.0, "ramp_per_step": 0.1}
            ),
            r"setpoints.crah_airflow: need 0.5 <= min < max <= 1.0 \(got 0.3..1.0\)",
        ),
        (
            lambda d: d["setpoints"].update(
                crah_airflow={"min": 0.8, "max": 0.95, "ramp_per_step": 0.1}
            ),
            r"fixed_setpoints.crah_airflow: 1.0 is outside setpoints.crah_airflow 0.8..0.95",
        ),
    ],
)
def test_inconsistent_specs(tmp_path, mutate, pattern):
    path = _broken(tmp_path, mutate)
    if "nowhere" in pattern or pattern.startswith("weather"):
        data = yaml.safe_load(path.read_text())
        data["weather"] = "nowhere.csv"
        path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match=pattern):
        load_site(path)


def test_not_yaml_and_unknown_site(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_site(bad)
    with pytest.raises(SpecError, match=r"unknown site 'atlantis'.*enterprise"):
        load_site("atlantis")


@pytest.mark.parametrize("site", ["enterprise", "hyperscale", "highdensity"])
def test_a_variant_extends_its_site_and_says_only_what_differs(site):
    base = load_site(site)
    variant = load_site(ENVS_DIR / "variants" / f"{site}-crah.yaml")
    assert variant.name == f"{site}-crah"
    assert base.setpoints.crah_airflow is None
    assert (variant.setpoints.crah_airflow.min, variant.setpoints.crah_airflow.max) == (0.8, 1.0)
    # the rest is the base's, its data files included (paths rewritten to the variant's folder)
    for key in ("weather", "carbon"):
        assert (
            variant.path(getattr(variant, key)).resolve() == base.path(getattr(base, key)).resolve()
        )
    assert variant.path(variant.it.workload).resolve() == base.path(base.it.workload).resolve()
    assert (variant.it.capacity_kw, variant.it.servers) == (base.it.capacity_kw, base.it.servers)
    for field in ("zones", "chillers", "chw_loop", "cw_loop", "tower", "crah", "economizer",
                  "envelope", "fixed_setpoints", "interval_s"):  # fmt: skip
        assert getattr(variant, field) == getattr(base, field), field
    assert variant.setpoints.chw_supply_c == base.setpoints.chw_supply_c


def test_extends_errors_name_the_file(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("extends: b.yaml\n")
    b.write_text("extends: a.yaml\n")
    with pytest.raises(SpecError, match=r"extends: a cycle: .*a.yaml -> .*b.yaml -> .*a.yaml"):
        load_site(a)
    a.write_text("extends: [b.yaml]\n")
    with pytest.raises(SpecError, match=r"a.yaml: extends: a shipped site's name or the path"):
        load_site(a)
    a.write_text("extends: enterprize\n")
    with pytest.raises(SpecError, match=r"unknown site 'enterprize'; shipped sites: enterprise, "):
        load_site(a)
    a.write_text("extends: missing.yaml\n")
    with pytest.raises(SpecError, match=r"missing.yaml: site spec not found"):
        load_site(a)
    # a variant's own mistakes are named as in any spec
    too_much_air = "{crah_airflow: {min: 0.9, max: 1.1, ramp_per_step: 0.1}}"
    a.write_text(f"extends: {ENVS_DIR / 'enterprise.yaml'}\nsetpoints: {too_much_air}\n")
    with pytest.raises(SpecError, match=r"setpoints.crah_airflow: need 0.5 <= min < max <= 1.0"):
        load_site(a)


def test_a_spec_changed_in_code_is_checked_as_a_loaded_one():
    site = load_site("enterprise")
    assert with_crah_airflow(site, 0.8).setpoints.crah_airflow.min == 0.8
    with pytest.raises(SpecError, match=r"setpoints.crah_airflow: need 0.5 <= min < max <= 1.0"):
        with_crah_airflow(site, 0.3)
    from cooling.evaluate import with_traces

    with pytest.raises(SpecError, match=r"weather: file not found: .*nowhere.epw"):
        with_traces(site, "nowhere.epw", None)


def test_a_variant_may_name_a_shipped_site_and_null_removes_a_key(tmp_path):
    spec_path = tmp_path / "dry.yaml"
    spec_path.write_text("extends: hyperscale\nname: dry\neconomizer: null\n")
    with pytest.raises(SpecError, match=r"setpoints.economizer: the site has no economizer"):
        load_site(spec_path)
    spec_path.write_text(
        "extends: hyperscale\nname: dry\neconomizer: null\nsetpoints: {economizer: null}\n"
    )
    base, spec = load_site("hyperscale"), load_site(spec_path)
    assert base.economizer is not None and spec.economizer is None
    assert spec.name == "dry" and spec.chillers == base.chillers
    assert spec.path(spec.weather).resolve() == base.path(base.weather).resolve()
    # a null removes the base's value: the field's default applies
    warm = tmp_path / "warm.yaml"
    warm.write_text("extends: enterprise\nfixed_setpoints: {supply_air_c: 20.0}\n")
    spec_path.write_text("extends: warm.yaml\nfixed_setpoints: {supply_air_c: null}\n")
    assert load_site(warm).fixed_setpoints.supply_air_c == 20.0
    assert load_site(spec_path).fixed_setpoints.supply_air_c == 18.0  # FixedSetpoints' default


def test_a_variant_of_a_variant_keeps_its_bases_files_unless_it_names_its_own(tmp_path):
    (tmp_path / "one" / "two").mkdir(parents=True)
    mid = tmp_path / "one" / "mid.yaml"
    mid.write_text(f"extends: {ENVS_DIR / 'hyperscale.yaml'}\nname: mid\n")
    leaf = tmp_path / "one" / "two" / "leaf.yaml"
    leaf.write_text("extends: ../mid.yaml\nname: leaf\ntower: {design_approach_k: 4.5}\n")
    base, spec = load_site("hyperscale"), load_site(leaf)
    assert spec.name == "leaf" and spec.tower.design_approach_k == 4.5
    assert spec.tower.design_wet_bulb_c == base.tower.design_wet_bulb_c  # merged, not replaced
    assert spec.path(spec.weather).resolve() == base.path(base.weather).resolve()
    assert spec.path(spec.it.workload).resolve() == base.path(base.it.workload).resolve()
    own = tmp_path / "one" / "two" / "chicago.csv"
    own.write_bytes(base.path(base.weather).read_bytes())
    leaf.write_text("extends: ../mid.yaml\nweather: chicago.csv\n")
    assert load_site(leaf).path(load_site(leaf).weather) == own
    # a mistake inherited from a base is named with the chain it came through
    mid.write_text(f"extends: {ENVS_DIR / 'hyperscale.yaml'}\nchw_loop: {{pump_efficiency: 1.7}}\n")
    with pytest.raises(SpecError, match=r"leaf.yaml \(extends .*mid.yaml\) \(extends .*hyperscale"):
        load_site(leaf)
