"""Site specifications: frozen, validated records loaded from ``envs/*.yaml``.

A site spec names the plant's parts and ratings, the thermal envelope, the setpoint
ranges and ramp limits, the traces (weather, workload, grid carbon) and the control
interval. Loading validates everything: an unknown key, a missing field or a value out
of its physical range raises :class:`SpecError` naming the file, the key and what is
allowed. Every numeric field carries its unit in its name and its allowed range in its
type.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Annotated, Any

import yaml
from annotated_types import Ge, Gt, Le, Lt
from pydantic import ConfigDict, Field, ValidationError
from pydantic.dataclasses import dataclass

from cooling.records import CURVES

#: Folder of the shipped site specs (beside the package in a source checkout).
ENVS_DIR = Path(__file__).resolve().parent.parent / "envs"

_CONFIG = ConfigDict(extra="forbid", frozen=True)


class SpecError(ValueError):
    """A site spec (or a trace it names) is invalid; the message says where and why."""


@dataclass(config=_CONFIG)
class ServerData:
    """Server population: idle power, fans and leakage (PHYSICS.md §4)."""

    # P_idle/P_max [Barroso & Hölzle 2007: 0.3-0.6]
    idle_fraction: Annotated[float, Ge(0.1), Le(0.9)] = 0.45
    fan_power_fraction: Annotated[float, Ge(0.0), Le(0.3)] = 0.08  # P_fan,max/P_max (5-15 %)
    fan_min_speed: Annotated[float, Ge(0.1), Le(0.6)] = 0.3  # s_min (0.2-0.3)
    # inlet where fans start to ramp (24-27 °C)
    fan_knee_c: Annotated[float, Ge(18.0), Le(35.0)] = 25.0
    fan_full_speed_c: Annotated[float, Ge(25.0), Le(50.0)] = 35.0  # inlet at full fan speed
    # relative compute power per K (0.1-0.3 %/K)
    leakage_per_k: Annotated[float, Ge(0.0), Le(0.01)] = 0.0015
    leakage_ref_c: Annotated[float, Ge(10.0), Le(30.0)] = 20.0
    # air ΔT across servers at rated power, min fan speed
    delta_t_k: Annotated[float, Ge(5.0), Le(30.0)] = 12.0


@dataclass(config=_CONFIG)
class ITData:
    capacity_kw: Annotated[float, Gt(1.0), Le(500_000.0)]
    workload: str  # CSV with hourly utilisation (0-1) in column `cpu_load`
    # AR(1) utilisation noise per 5 min (PHYSICS.md §10)
    noise_sigma: Annotated[float, Ge(0.0), Le(0.2)] = 0.02
    noise_phi: Annotated[float, Ge(0.0), Le(0.999)] = 0.95
    servers: ServerData = Field(default_factory=ServerData)


@dataclass(config=_CONFIG)
class ZoneData:
    name: str
    it_share: Annotated[float, Gt(0.0), Le(1.0)]  # share of the site's IT capacity
    # r, mean (0-0.05 contained, 0.1-0.3 open aisles)
    recirculation: Annotated[float, Ge(0.0), Le(0.5)]
    # r of the worst rack in the zone
    hottest_rack_recirculation: Annotated[float, Ge(0.0), Le(0.6)]
    racks: Annotated[int, Ge(1), Le(100_000)]
    # C per rack, incl. hot-aisle air (300-500)
    rack_heat_capacity_kj_k: Annotated[float, Ge(10.0), Le(5000.0)]


@dataclass(config=_CONFIG)
class ChillerData:
    count: Annotated[int, Ge(1), Le(40)]
    # Q_ref of one chiller at the curve's reference point
    capacity_kw: Annotated[float, Ge(10.0), Le(20_000.0)]
    curve: str  # a key of cooling.plant.chiller.CURVES
    # overrides the curve's reference COP
    cop_ref: Annotated[float, Ge(2.0), Le(12.0)] | None = None
    # lowest entering condenser water (PHYSICS.md §5)
    min_ecwt_c: Annotated[float, Ge(5.0), Le(25.0)] = 13.0
    stage_up_plr: Annotated[float, Ge(0.5), Le(1.0)] = 0.9
    stage_down_plr: Annotated[float, Ge(0.2), Le(0.95)] = 0.7
    # anti-short-cycle wait between stage changes
    stage_wait_s: Annotated[float, Ge(0.0), Le(7200.0)] = 600.0


@dataclass(config=_CONFIG)
class LoopData:
    # design ΔT (CHW: supply-return; CW: tower range)
    design_delta_t_k: Annotated[float, Ge(2.0), Le(15.0)]
    volume_m3: Annotated[float, Ge(0.1), Le(10_000.0)]  # water in the loop (thermal mass)
    pump_head_m: Annotated[float, Ge(3.0), Le(80.0)]  # design head (CHW 20-30 m, CW 15-25 m)
    pump_efficiency: Annotated[float, Ge(0.3), Le(0.95)]  # wire-to-water η_pump·η_motor·η_VFD
    pump_min_speed: Annotated[float, Ge(0.1), Le(1.0)] = 0.3


@dataclass(config=_CONFIG)
class TowerData:
    design_wet_bulb_c: Annotated[float, Ge(10.0), Le(32.0)] = 25.55  # Modelica YorkCalc defaults
    design_approach_k: Annotated[float, Ge(1.5), Le(10.0)] = 3.89
    # fan kW per kW rejected at design (≈1.3 %)
    fan_power_fraction: Annotated[float, Ge(0.001), Le(0.05)] = 0.01
    fan_min_speed: Annotated[float, Ge(0.1), Le(0.6)] = 0.3
    # latent share of the heat rejected
    evaporation_fraction: Annotated[float, Ge(0.5), Le(1.0)] = 0.85
    # of circulating flow (EnergyPlus 0.008 %)
    drift_fraction: Annotated[float, Ge(0.0), Le(0.002)] = 0.00008
    cycles_of_concentration: Annotated[float, Ge(1.5), Le(10.0)] = 3.0


@dataclass(config=_CONFIG)
class CrahData:
    # specific fan power at design (0.4-1.0)
    fan_sfp_kw_per_m3_s: Annotated[float, Ge(0.1), Le(3.0)]
    fan_min_speed: Annotated[float, Ge(0.1), Le(0.8)] = 0.3
    oversupply: Annotated[float, Ge(0.0), Le(1.0)] = 0.1  # CRAH air beyond what the servers draw
    # T_sa − T_chws at design (3-6 K)
    coil_design_approach_k: Annotated[float, Ge(1.0), Le(12.0)] = 4.0
    design_chws_c: Annotated[float, Ge(4.0), Le(20.0)] = 7.0
    design_supply_air_c: Annotated[float, Ge(10.0), Le(30.0)] = 18.0


@dataclass(config=_CONFIG)
class EconomizerData:
    hx_approach_k: Annotated[float, Ge(0.5), Le(6.0)] = 2.0  # plate HX design approach (1-2 K)
    enable_margin_k: Annotated[float, Ge(0.0), Le(10.0)] = 2.0
    disable_margin_k: Annotated[float, Ge(0.0), Le(10.0)] = 1.0
    hold_s: Annotated[float, Ge(0.0), Le(7200.0)] = 1200.0


@dataclass(config=_CONFIG)
class EnvelopeData:
    """Rack inlet limits, ASHRAE TC 9.9 (5th ed., 2021), class A1."""

    recommended_low_c: Annotated[float, Ge(5.0), Le(30.0)] = 18.0
    recommended_high_c: Annotated[float, Ge(15.0), Le(35.0)] = 27.0
    allowable_low_c: Annotated[float, Ge(0.0), Le(30.0)] = 15.0
    allowable_high_c: Annotated[float, Ge(20.0), Le(45.0)] = 32.0


@dataclass(config=_CONFIG)
class SetpointRange:
    min: float
    max: float
    ramp_per_step: Annotated[float, Gt(0.0), Le(100.0)]  # largest move per control interval


#: The CRAH air flow a site may let controllers set [fraction of the design-ratio flow]:
#: turned down from the design ratio, never up (the fans' headroom above it is for the
#: server fans' ramp, and more air would only grow the bypass); below half of it the
#: inlets would breathe mostly exhaust (EC fans turn down to 20-30 % speed, PHYSICS.md §3).
CRAH_AIRFLOW_RANGE = (0.5, 1.0)


@dataclass(config=_CONFIG)
class SetpointRanges:
    chw_supply_c: SetpointRange
    supply_air_c: SetpointRange
    cw_supply_c: SetpointRange
    chw_pump_speed: SetpointRange
    economizer: SetpointRange | None = None
    # CRAH air flow as a fraction of the flow that holds the design airflow ratio
    # (a cold-aisle pressure reset); exposed only where a site lists it
    crah_airflow: SetpointRange | None = None


@dataclass(config=_CONFIG)
class FixedSetpoints:
    """The legacy fixed operation of the site (the `fixed` controller)."""

    chw_supply_c: Annotated[float, Ge(4.0), Le(25.0)] = 7.0
    supply_air_c: Annotated[float, Ge(10.0), Le(30.0)] = 18.0
    # 85 °F, the classic condenser-water setpoint
    cw_supply_c: Annotated[float, Ge(5.0), Le(40.0)] = 29.4
    chw_pump_speed: Annotated[float, Ge(0.1), Le(1.0)] = 1.0
    economizer: Annotated[float, Ge(0.0), Le(1.0)] = 1.0
    # the design airflow ratio (the CRAH units' pressure control as commissioned)
    crah_airflow: Annotated[float, Ge(CRAH_AIRFLOW_RANGE[0]), Le(CRAH_AIRFLOW_RANGE[1])] = 1.0


@dataclass(config=_CONFIG)
class SiteSpec:
    name: str
    description: str
    weather: str  # EPW file or reduced CSV (see cooling.plant.weather)
    carbon: str  # CSV with hourly grid carbon intensity `avg_ci_g_per_kwh`
    it: ITData
    zones: list[ZoneData]
    chillers: ChillerData
    chw_loop: LoopData
    cw_loop: LoopData
    tower: TowerData
    crah: CrahData
    setpoints: SetpointRanges
    # UPS/PDU/transformer losses / IT (0.02-0.08)
    electrical_loss_fraction: Annotated[float, Ge(0.0), Le(0.3)]
    interval_s: Annotated[float, Ge(10.0), Le(3600.0)] = 300.0
    economizer: EconomizerData | None = None
    envelope: EnvelopeData = Field(default_factory=EnvelopeData)
    fixed_setpoints: FixedSetpoints = Field(default_factory=FixedSetpoints)
    #: Folder the relative paths above are resolved against (set by the loader).
    base_dir: str = "."

    def path(self, relative: str) -> Path:
        """Resolve a path named in the spec against the spec's own folder."""
        p = Path(relative)
        return p if p.is_absolute() else Path(self.base_dir) / p

    @property
    def chw_design_flow_kg_s(self) -> float:
        """Design chilled-water flow [kg/s]: the installed capacity at the design ΔT."""
        from cooling.units import CP_WATER_KJ_KG_K

        return (
            self.chillers.count
            * self.chillers.capacity_kw
            / (CP_WATER_KJ_KG_K * self.chw_loop.design_delta_t_k)
        )


def _bounds(cls: Any, loc: tuple[int | str, ...]) -> str:
    """The allowed range of the field at ``loc`` in ``cls``, as text (or '')."""
    field_type: Any = cls
    for part in loc:
        if isinstance(part, int):
            args = typing.get_args(field_type)
            field_type = args[0] if args else field_type
            continue
        hints = (
            typing.get_type_hints(field_type, include_extras=True)
            if dataclasses.is_dataclass(field_type)
            else {}
        )
        if part not in hints:
            return ""
        field_type = hints[part]
        # unwrap Optional / list
        members = [a for a in typing.get_args(field_type) if a is not type(None)]
        if typing.get_origin(field_type) in (typing.Union, types.UnionType):
            field_type = members[0]
    lo = hi = None
    for m in getattr(field_type, "__metadata__", ()):
        if isinstance(m, Ge | Gt):
            lo = (">=" if isinstance(m, Ge) else ">", getattr(m, "ge", getattr(m, "gt", None)))
        if isinstance(m, Le | Lt):
            hi = ("<=" if isinstance(m, Le) else "<", getattr(m, "le", getattr(m, "lt", None)))
    if lo and hi:
        return f"allowed: {lo[0]} {lo[1]} and {hi[0]} {hi[1]}"
    if dataclasses.is_dataclass(field_type):
        names = ", ".join(f.name for f in dataclasses.fields(field_type) if f.name != "base_dir")
        return f"allowed keys: {names}"
    return ""


def _format_errors(source: str, exc: ValidationError) -> str:
    lines = [f"{source}: invalid site spec ({exc.error_count()} problem(s))"]
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            parent = _bounds(SiteSpec, loc[:-1]) if loc[:-1] else _bounds_top()
            lines.append(f"  {key}: unknown key; {parent}")
        elif err["type"] == "missing":
            lines.append(f"  {key}: missing field")
        else:
            got = err.get("input")
            allowed = _bounds(SiteSpec, loc)
            lines.append(f"  {key}: {err['msg']} (got {got!r}){'; ' + allowed if allowed else ''}")
    return "\n".join(lines)


def _bounds_top() -> str:
    names = ", ".join(f.name for f in dataclasses.fields(SiteSpec) if f.name != "base_dir")
    return f"allowed keys: {names}"


def _check_consistency(spec: SiteSpec) -> list[str]:
    problems = []
    total_share = sum(z.it_share for z in spec.zones)
    if not spec.zones:
        problems.append("zones: at least one zone is needed")
    elif len(spec.zones) > 4:
        problems.append(f"zones: at most 4 zones are supported (got {len(spec.zones)})")
    elif not math.isclose(total_share, 1.0, abs_tol=1e-6):
        problems.append(f"zones: it_share must add up to 1 (got {total_share:g})")
    for i, z in enumerate(spec.zones):
        if z.hottest_rack_recirculation < z.recirculation:
            problems.append(
                f"zones.{i}.hottest_rack_recirculation: must be >= recirculation "
                f"({z.recirculation}) (got {z.hottest_rack_recirculation})"
            )
    if spec.chillers.curve not in CURVES:
        problems.append(
            f"chillers.curve: unknown curve {spec.chillers.curve!r}; allowed: {', '.join(CURVES)}"
        )
    if spec.chillers.stage_down_plr >= spec.chillers.stage_up_plr:
        problems.append("chillers.stage_down_plr: must be below stage_up_plr")
    s = spec.it.servers
    if s.fan_full_speed_c <= s.fan_knee_c:
        problems.append("it.servers.fan_full_speed_c: must be above fan_knee_c")
    e = spec.envelope
    if not e.allowable_low_c <= e.recommended_low_c < e.recommended_high_c <= e.allowable_high_c:
        problems.append(
            "envelope: need allowable_low <= recommended_low < recommended_high <= allowable_high"
        )
    physical = {
        "chw_supply_c": (4.0, 25.0),
        "supply_air_c": (10.0, 32.0),
        "cw_supply_c": (5.0, 40.0),
        "chw_pump_speed": (0.1, 1.0),
        "economizer": (0.0, 1.0),
        "crah_airflow": CRAH_AIRFLOW_RANGE,
    }
    for name, (lo, hi) in physical.items():
        r = getattr(spec.setpoints, name)
        if r is None:
            continue
        if not lo <= r.min < r.max <= hi:
            problems.append(
                f"setpoints.{name}: need {lo} <= min < max <= {hi} (got {r.min}..{r.max})"
            )
        fixed = getattr(spec.fixed_setpoints, name)
        if name != "economizer" and not r.min <= fixed <= r.max:
            problems.append(
                f"fixed_setpoints.{name}: {fixed} is outside setpoints.{name} {r.min}..{r.max}"
            )
    if spec.economizer is not None and spec.setpoints.economizer is None:
        problems.append("setpoints.economizer: needed when an economizer is fitted")
    if spec.economizer is None and spec.setpoints.economizer is not None:
        problems.append(
            "setpoints.economizer: the site has no economizer (remove the setpoint, or in a "
            "spec that extends another set setpoints: {economizer: null}; or fit one under "
            "economizer:)"
        )
    for key in ("weather", "carbon"):
        if not spec.path(getattr(spec, key)).is_file():
            problems.append(f"{key}: file not found: {spec.path(getattr(spec, key))}")
    if not spec.path(spec.it.workload).is_file():
        problems.append(f"it.workload: file not found: {spec.path(spec.it.workload)}")
    capacity = spec.chillers.count * spec.chillers.capacity_kw
    if capacity < spec.it.capacity_kw:
        problems.append(
            f"chillers: installed capacity {capacity:g} kW is below the IT capacity "
            f"{spec.it.capacity_kw:g} kW"
        )
    return problems


def parse_site(data: Any, source: str = "<site spec>", base_dir: str | Path = ".") -> SiteSpec:
    """Validate a mapping (as read from YAML) into a :class:`SiteSpec`."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: a site spec is a mapping of keys, got {type(data).__name__}")
    try:
        spec = SiteSpec(**{**data, "base_dir": str(base_dir)})
    except ValidationError as exc:
        raise SpecError(_format_errors(source, exc)) from None
    except TypeError as exc:  # unknown top-level keyword
        raise SpecError(f"{source}: {exc}; {_bounds_top()}") from None
    return _checked(spec, source)


def _checked(spec: SiteSpec, source: str) -> SiteSpec:
    """The spec, once its site-level checks (ranges, zones, files) pass."""
    problems = _check_consistency(spec)
    if problems:
        raise SpecError(f"{source}: invalid site spec\n  " + "\n  ".join(problems))
    return spec


def replace_checked(spec: SiteSpec, source: str = "<site spec>", **changes: Any) -> SiteSpec:
    """``dataclasses.replace`` (which validates the fields again) followed by the
    site-level checks that :func:`parse_site` runs (ranges, zones, files)."""
    try:
        new = dataclasses.replace(spec, **changes)
    except ValidationError as exc:
        raise SpecError(_format_errors(source, exc)) from None
    return _checked(new, source)


def with_crah_airflow(
    spec: SiteSpec, lowest: float, highest: float = 1.0, ramp_per_step: float = 0.1
) -> SiteSpec:
    """The site with its CRAH air flow exposed as a setpoint over ``lowest``..``highest``
    (what ``setpoints: {crah_airflow: ...}`` in its spec would say; validated again)."""
    exposed = SetpointRange(min=lowest, max=highest, ramp_per_step=ramp_per_step)
    setpoints = dataclasses.replace(spec.setpoints, crah_airflow=exposed)
    return replace_checked(spec, f"{spec.name} with crah_airflow", setpoints=setpoints)


def site_names() -> list[str]:
    """Names of the shipped site specs."""
    return sorted(p.stem for p in ENVS_DIR.glob("*.yaml"))


def load_site(name_or_path: str | Path) -> SiteSpec:
    """Load a site spec by shipped name (``enterprise``) or by path to a YAML file (a
    relative path not found from here is tried from the repository root, as model cards
    write it)."""
    path = Path(name_or_path)
    from_root = ENVS_DIR.parent / path
    if path.suffix in (".yaml", ".yml") and not path.is_file() and from_root.is_file():
        path = from_root
    if path.suffix not in (".yaml", ".yml"):
        path = ENVS_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise SpecError(
                f"unknown site {str(name_or_path)!r}; shipped sites: {', '.join(site_names())} "
                "(or give a path to a .yaml file)"
            )
    data, bases = _read_with_base(path, ())
    source = str(path) + "".join(f" (extends {b})" for b in bases)
    return parse_site(data, source=source, base_dir=path.parent)


#: Keys holding paths, which resolve against the folder of the spec that names them.
_PATH_KEYS = (("weather",), ("carbon",), ("it", "workload"))


def _read_with_base(path: Path, seen: tuple[Path, ...]) -> tuple[Any, tuple[Path, ...]]:
    """The spec's mapping, merged over the spec it ``extends`` (if any), and the chain of
    base specs it came through.

    ``extends: PATH`` (a ``.yaml`` file, relative to this spec's folder, or absolute) or
    ``extends: SITE`` (a shipped site's name, e.g. ``enterprise``) names a base spec,
    which may extend another; this spec's keys replace the base's, mappings merged key by
    key (a list, such as ``zones``, is replaced whole; a key set to null removes the
    base's: ``economizer: null`` with ``setpoints: {economizer: null}`` takes the
    economizer out), so that a variant says only what differs
    (``setpoints: {crah_airflow: ...}``). The base's data paths are made absolute, so they
    still name the base's files.
    """
    data = read_yaml(path, SpecError, "site spec")
    if not isinstance(data, dict) or "extends" not in data:
        return data, ()
    base_ref = data.pop("extends")
    if not isinstance(base_ref, str) or not base_ref.strip():
        raise SpecError(
            f"{path}: extends: a shipped site's name or the path of a .yaml spec (got {base_ref!r})"
        )
    here = path.resolve()
    if Path(base_ref).suffix in (".yaml", ".yml"):
        base_path = (path.parent / base_ref).resolve()
    elif base_ref in site_names():
        base_path = (ENVS_DIR / f"{base_ref}.yaml").resolve()
    else:
        raise SpecError(
            f"{path}: extends: unknown site {base_ref!r}; shipped sites: "
            f"{', '.join(site_names())} (or the path of a .yaml spec)"
        )
    if base_path in (*seen, here):
        chain = " -> ".join(str(p) for p in (*seen, here, base_path))
        raise SpecError(f"{path}: extends: a cycle: {chain}")
    try:
        base, bases = _read_with_base(base_path, (*seen, here))
    except SpecError as exc:
        raise SpecError(f"{path}: extends: {exc}") from None
    if not isinstance(base, dict):
        raise SpecError(f"{path}: extends: {base_ref} is not a site spec mapping")
    for keys in _PATH_KEYS:
        node: Any = base
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(keys[-1]), str):
            node[keys[-1]] = str(base_path.parent / node[keys[-1]])  # an absolute one stays
    return _merge(base, data), (base_path, *bases)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: mappings merged recursively, a null removing the key
    (the field's default applies, or it is missing), anything else replaced."""
    out = dict(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def read_yaml(path: Path, error: type[Exception], what: str) -> Any:
    """The parsed YAML of ``path``; ``error`` names the file for a missing or broken one."""
    if not path.is_file():
        raise error(f"{path}: {what} not found")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from None
