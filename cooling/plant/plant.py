"""The chilled-water plant, composed from its components and stepped as a batch.

``step(state, setpoints, disturbances, params) -> (state, telemetry)`` advances N plants
by one control interval. Every argument is a named 2-D array of shape (N, fields): one
row a plant, one column a named quantity (``state.chw_supply_c``, ``telemetry.facility_kw``).
The work is done by one compiled kernel (numba) that loops over plants and sub-steps; no
Python runs per plant or per component.

The loop, per sub-step (explicit in the order heat flows, so that every flow leaves one
node and enters another with the same value and the energy balance closes to round-off):

1. racks: server fans and leakage from each zone's inlet temperature, air flows;
2. CRAH: supply air from the coil at the current chilled-water supply (setpoint if its
   capacity allows), then each zone's exhaust temperature integrated exactly;
3. chilled water: the coil heat and the pump heat warm the return node; the waterside
   economizer and then the staged chillers cool it towards the setpoint (if capacity
   allows) into the supply node;
4. condenser water: chiller condenser heat, economizer heat and pump heat go to the
   tower cells, whose fans hold the condenser-water setpoint (or, in economizer mode,
   the coldest useful water); the basin node integrates the rest;
5. the plant's own controls: chiller staging and economizer mode for the next sub-step.

Stored heat lives in the zone masses (racks and hot-aisle air), the chilled-water
supply and return nodes and the condenser-water basin; :func:`stored_heat_kj` sums it,
so that ``heat_in·Δt = q_tower·Δt + Δstored`` can be checked on any step.

Units: temperatures °C, powers kW, flows kg/s, energies kJ, water litres per interval.
"""

from __future__ import annotations

import math
import types
from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike

from cooling.plant import chiller, crah, economizer, pump, racks, tower
from cooling.plant._jit import jit
from cooling.records import CURVES
from cooling.setpoints import NAMES
from cooling.spec import CRAH_AIRFLOW_RANGE, SiteSpec
from cooling.units import CP_AIR_KJ_KG_K, CP_WATER_KJ_KG_K, RHO_AIR_KG_M3, RHO_WATER_KG_M3

MAX_ZONES = 4
#: CRAH fans are sized 20 % above the rated-load air flow, for the server fans' ramp.
CRAH_FAN_HEADROOM = 1.2

SETPOINT_NAMES = NAMES  # the plant takes the full setpoint vector of cooling.setpoints
#: Limits of the CRAH air flow [fraction of the design-ratio flow], as the site spec's:
#: turned down from the design ratio, where the inlet mass balance holds, never up.
CRAH_AIRFLOW_MIN, CRAH_AIRFLOW_MAX = CRAH_AIRFLOW_RANGE
DISTURBANCE_NAMES = ("dry_bulb_c", "wet_bulb_c", "it_load_kw")
STATE_NAMES = (
    "chw_supply_c",
    "chw_return_c",
    "cw_supply_c",
    "supply_air_c",
    "chillers_on",
    "stage_timer_s",
    "economizer_on",
    "economizer_timer_s",
    *(f"zone{z}_exhaust_c" for z in range(MAX_ZONES)),
)
TELEMETRY_NAMES = (
    # powers, averaged over the interval [kW]
    "it_kw",
    "it_compute_kw",
    "server_fan_kw",
    "chiller_kw",
    "tower_fan_kw",
    "chw_pump_kw",
    "cw_pump_kw",
    "crah_fan_kw",
    "cooling_kw",
    "electrical_loss_kw",
    "facility_kw",
    # heat flows, averaged over the interval [kW]
    "q_coil_kw",
    "q_economizer_kw",
    "q_chiller_kw",
    "q_condenser_kw",
    "q_tower_kw",
    "heat_in_kw",
    # water over the interval [L]
    "water_evaporation_l",
    "water_drift_l",
    "water_blowdown_l",
    "water_l",
    # temperatures at the end of the interval [°C] (inlet_max_c: the maximum within it)
    "chw_supply_c",
    "chw_return_c",
    "cw_supply_c",
    "cw_return_c",
    "supply_air_c",
    "return_air_c",
    "inlet_max_c",
    "inlet_mean_c",
    *(f"zone{z}_inlet_mean_c" for z in range(MAX_ZONES)),
    *(f"zone{z}_inlet_max_c" for z in range(MAX_ZONES)),
    # operating point at the end of the interval
    "chillers_on",
    "chiller_plr",
    "tower_fan_speed",
    "economizer_on",
    "chw_flow_kg_s",
    "crah_air_kg_s",
    "server_fan_speed",
    # conditions of the interval
    "outdoor_dry_bulb_c",
    "outdoor_wet_bulb_c",
    # the setpoints in force during the interval (as received)
    *(f"{n}_set" for n in SETPOINT_NAMES),
)


def _index(names: tuple[str, ...]) -> dict[str, int]:
    return {n: i for i, n in enumerate(names)}


def _namespace(name: str, names: tuple[str, ...]) -> types.ModuleType:
    """Column indices as module attributes, which numba folds into compile-time constants."""
    ns = types.ModuleType(name)
    for i, n in enumerate(names):
        setattr(ns, n, i)
    return ns


S = _namespace("S", STATE_NAMES)
A = _namespace("A", SETPOINT_NAMES)
D = _namespace("D", DISTURBANCE_NAMES)
T = _namespace("T", TELEMETRY_NAMES)

# Plant-level record, then the component records, concatenated into one parameter row.
GENERAL_NAMES = (
    "interval_s",
    "substeps",
    "chillers_installed",
    "stage_up_plr",
    "stage_down_plr",
    "stage_wait_s",
    "min_ecwt_c",
    "chw_design_kg_s",
    "chw_node_kg",
    "cw_cell_kg_s",
    "cw_basin_kg",
    "cw_pump_cell_kw",
    "electrical_loss_fraction",
    "zones",
    "it_rated_kw",
    "freeze_floor_c",
    "basin_idle_tau_s",
    "crah_fan_design_kg_s",
)
G = _namespace("G", GENERAL_NAMES)
N_GENERAL = len(GENERAL_NAMES)
_SIZES = {
    "general": N_GENERAL,
    "chiller": chiller.RECORD_SIZE,
    "tower": tower.RECORD_SIZE,
    "chw_pump": pump.RECORD_SIZE,
    "crah_fan": pump.RECORD_SIZE,
    "crah": crah.RECORD_SIZE,
    "server": racks.SERVER_RECORD_SIZE,
    "zones": racks.ZONE_RECORD_SIZE * MAX_ZONES,
    "economizer": economizer.RECORD_SIZE,
}
OFFSETS: dict[str, int] = {}
_o = 0
for _k, _n in _SIZES.items():
    OFFSETS[_k] = _o
    _o += _n
PARAM_SIZE = _o
OG, OCH, OTW, OPU, OCF, OCR, OSV, OZN, OEC = (OFFSETS[k] for k in _SIZES)


class Frame:
    """A batch of named quantities: an (N, fields) float64 array with columns by name.

    ``frame.chw_supply_c`` is column ``chw_supply_c`` (a view); ``frame["x"]`` likewise;
    ``frame.row(i)`` is plant ``i`` as a dict.
    """

    NAMES: ClassVar[tuple[str, ...]] = ()
    _INDEX: ClassVar[dict[str, int]] = {}

    __slots__ = ("data",)

    def __init__(self, data: np.ndarray):
        data = np.asarray(data, dtype=np.float64)
        if data.ndim == 1:
            data = data[None, :]
        if data.ndim != 2 or data.shape[1] != len(self.NAMES):
            raise ValueError(
                f"{type(self).__name__} needs shape (N, {len(self.NAMES)}) with columns "
                f"{', '.join(self.NAMES)}; got {data.shape}"
            )
        self.data = data

    def __init_subclass__(cls) -> None:
        cls._INDEX = _index(cls.NAMES)

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.data[:, type(self)._INDEX[name]]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no field {name!r}; fields: {', '.join(self.NAMES)}"
            ) from None

    def __getitem__(self, name: str) -> np.ndarray:
        return self.__getattr__(name)

    def __len__(self) -> int:
        n: int = self.data.shape[0]
        return n

    def row(self, i: int) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.NAMES, self.data[i], strict=True)}

    def copy(self) -> Self:
        return type(self)(self.data.copy())

    @classmethod
    def from_columns(cls, n: int | None = None, **columns: ArrayLike) -> Self:
        """Build from named columns (scalars broadcast); every field must be given."""
        missing = set(cls.NAMES) - set(columns)
        unknown = set(columns) - set(cls.NAMES)
        if missing or unknown:
            raise ValueError(
                f"{cls.__name__}: missing {sorted(missing)}, unknown {sorted(unknown)}; "
                f"fields: {', '.join(cls.NAMES)}"
            )
        arrays = [np.asarray(columns[k], dtype=np.float64) for k in cls.NAMES]
        if n is None:
            n = max((a.size for a in arrays), default=1)
        return cls(np.stack([np.broadcast_to(a, (n,)) for a in arrays], axis=1))


class PlantState(Frame):
    NAMES = STATE_NAMES


class Setpoints(Frame):
    NAMES = SETPOINT_NAMES


class Disturbances(Frame):
    NAMES = DISTURBANCE_NAMES


class Telemetry(Frame):
    NAMES = TELEMETRY_NAMES


@dataclass(frozen=True)
class PlantParams:
    """Parameters of N plants, one row each (from :func:`params_from_spec`)."""

    data: np.ndarray  # (N, PARAM_SIZE)
    site: str
    zones: int

    def __len__(self) -> int:
        n: int = self.data.shape[0]
        return n

    def repeat(self, n: int) -> PlantParams:
        """The same plant ``n`` times (for a batch)."""
        if len(self) != 1:
            raise ValueError("repeat() needs a single plant's parameters")
        return PlantParams(np.repeat(self.data, n, axis=0), self.site, self.zones)

    @property
    def interval_s(self) -> float:
        return float(self.data[0, OG + G.interval_s])


def params_from_spec(spec: SiteSpec) -> PlantParams:
    """Size every component from the site spec and pack them into one parameter row."""
    p = np.zeros(PARAM_SIZE)
    curve = CURVES[spec.chillers.curve]
    ch = spec.chillers
    q_ref = ch.capacity_kw
    cop_ref = ch.cop_ref or curve.ref_cop

    # Chilled-water loop: design flow carries the installed capacity at the design ΔT.
    chw_kg_s = spec.chw_design_flow_kg_s
    chw_node_kg = spec.chw_loop.volume_m3 * RHO_WATER_KG_M3 / 2.0  # supply and return halves

    # Condenser side: one tower cell and one pump per chiller (and one for the economizer),
    # each sized for a chiller's heat rejection at the design range.
    q_reject_cell = q_ref * (1.0 + 1.0 / cop_ref)
    cw_cell_kg_s = q_reject_cell / (CP_WATER_KJ_KG_K * spec.cw_loop.design_delta_t_k)
    cw_basin_kg = spec.cw_loop.volume_m3 * RHO_WATER_KG_M3
    cw_pump_cell_kw = pump.design_power_kw(
        cw_cell_kg_s, spec.cw_loop.pump_head_m, spec.cw_loop.pump_efficiency
    )

    # Sub-steps: the water nodes are integrated explicitly; keep Δt ≤ half their shortest
    # residence time (and ≤ 100 s).
    n_cells_max = ch.count + (1 if spec.economizer else 0)
    tau_min = min(chw_node_kg / chw_kg_s, cw_basin_kg / (n_cells_max * cw_cell_kg_s))
    substeps = math.ceil(spec.interval_s / min(100.0, 0.5 * tau_min))

    p[OCH : OCH + chiller.RECORD_SIZE] = chiller.record(curve, q_ref, cop_ref)

    tw = spec.tower
    t_rec = np.zeros(tower.RECORD_SIZE)
    t_rec[tower.LG_DESIGN] = tower.design_lg(
        tw.design_wet_bulb_c, spec.cw_loop.design_delta_t_k, tw.design_approach_k
    )
    t_rec[tower.FAN_KW_DESIGN] = tw.fan_power_fraction * q_reject_cell
    t_rec[tower.FAN_MIN_SPEED] = tw.fan_min_speed
    t_rec[tower.FLOW_KG_S] = cw_cell_kg_s
    t_rec[tower.EVAP_FRACTION] = tw.evaporation_fraction
    t_rec[tower.DRIFT_FRACTION] = tw.drift_fraction
    t_rec[tower.CYCLES] = tw.cycles_of_concentration
    p[OTW : OTW + tower.RECORD_SIZE] = t_rec

    chw_pump_kw = pump.design_power_kw(
        chw_kg_s, spec.chw_loop.pump_head_m, spec.chw_loop.pump_efficiency
    )
    p[OPU : OPU + pump.RECORD_SIZE] = pump.record(chw_pump_kw, spec.chw_loop.pump_min_speed)

    # Air side: server air flow at rated power, minimum fan speed, design ΔT.
    sv = spec.it.servers
    server_air_kg_s = spec.it.capacity_kw / (CP_AIR_KJ_KG_K * sv.delta_t_k)
    # CRAH design air flow: what the servers draw at rated power and minimum fan speed,
    # net of recirculation, plus oversupply, plus headroom for the server fans' ramp.
    r_mean = sum(z.it_share * z.recirculation for z in spec.zones)
    crah_air_kg_s = (
        server_air_kg_s * (1.0 - r_mean) * (1.0 + spec.crah.oversupply) * CRAH_FAN_HEADROOM
    )
    crah_fan_kw = spec.crah.fan_sfp_kw_per_m3_s * crah_air_kg_s / RHO_AIR_KG_M3
    p[OCF : OCF + pump.RECORD_SIZE] = pump.record(crah_fan_kw, spec.crah.fan_min_speed)

    # Coil sized at design: the IT load at rated power, the design CHW and supply air,
    # design air flow at minimum server fan speed.
    design_air = server_air_kg_s * (1.0 - r_mean) * (1.0 + spec.crah.oversupply)
    ha_a, ha_w = crah.design_ha(
        spec.it.capacity_kw,
        design_air,
        chw_kg_s,
        spec.crah.design_supply_air_c - spec.crah.coil_design_approach_k,
        spec.crah.design_supply_air_c,
    )
    c_rec = np.zeros(crah.RECORD_SIZE)
    c_rec[crah.HA_AIR_KW_K] = ha_a
    c_rec[crah.HA_WATER_KW_K] = ha_w
    c_rec[crah.AIR_DESIGN_KG_S] = design_air
    c_rec[crah.WATER_DESIGN_KG_S] = chw_kg_s
    c_rec[crah.OVERSUPPLY] = spec.crah.oversupply
    p[OCR : OCR + crah.RECORD_SIZE] = c_rec

    s_rec = np.zeros(racks.SERVER_RECORD_SIZE)
    s_rec[racks.FAN_FRACTION] = sv.fan_power_fraction
    s_rec[racks.FAN_MIN_SPEED] = sv.fan_min_speed
    s_rec[racks.FAN_KNEE_C] = sv.fan_knee_c
    s_rec[racks.FAN_FULL_C] = sv.fan_full_speed_c
    s_rec[racks.LEAKAGE_PER_K] = sv.leakage_per_k
    s_rec[racks.LEAKAGE_REF_C] = sv.leakage_ref_c
    p[OSV : OSV + racks.SERVER_RECORD_SIZE] = s_rec

    for z, zone in enumerate(spec.zones):
        o = OZN + z * racks.ZONE_RECORD_SIZE
        rated = spec.it.capacity_kw * zone.it_share
        p[o + racks.RATED_KW] = rated
        p[o + racks.RECIRCULATION] = zone.recirculation
        p[o + racks.HOT_RECIRCULATION] = zone.hottest_rack_recirculation
        p[o + racks.HEAT_CAPACITY_KJ_K] = zone.racks * zone.rack_heat_capacity_kj_k
        p[o + racks.AIR_DESIGN_KG_S] = rated / (CP_AIR_KJ_KG_K * sv.delta_t_k)

    general = {
        "interval_s": spec.interval_s,
        "substeps": substeps,
        "chillers_installed": ch.count,
        "stage_up_plr": ch.stage_up_plr,
        "stage_down_plr": ch.stage_down_plr,
        "stage_wait_s": ch.stage_wait_s,
        "min_ecwt_c": ch.min_ecwt_c,
        "chw_design_kg_s": chw_kg_s,
        "chw_node_kg": chw_node_kg,
        "cw_cell_kg_s": cw_cell_kg_s,
        "cw_basin_kg": cw_basin_kg,
        "cw_pump_cell_kw": cw_pump_cell_kw,
        "electrical_loss_fraction": spec.electrical_loss_fraction,
        "zones": len(spec.zones),
        "it_rated_kw": spec.it.capacity_kw,
        "freeze_floor_c": 4.0,  # tower water and CHW never below 4 °C (no glycol)
        "basin_idle_tau_s": 3600.0,  # idle basin drifts to the wet-bulb within hours
        "crah_fan_design_kg_s": crah_air_kg_s,
    }
    for k, v in general.items():
        p[OG + getattr(G, k)] = v

    e_rec = np.zeros(economizer.RECORD_SIZE)
    if spec.economizer is not None:
        ec = spec.economizer
        e_rec[economizer.FITTED] = 1.0
        dt_chw = spec.chw_loop.design_delta_t_k
        e_rec[economizer.EFFECTIVENESS] = dt_chw / (dt_chw + ec.hx_approach_k)
        e_rec[economizer.HX_APPROACH_K] = ec.hx_approach_k
        e_rec[economizer.TOWER_APPROACH_K] = tw.design_approach_k
        e_rec[economizer.ENABLE_K] = ec.enable_margin_k
        e_rec[economizer.DISABLE_K] = ec.disable_margin_k
        e_rec[economizer.HOLD_S] = ec.hold_s
    p[OEC : OEC + economizer.RECORD_SIZE] = e_rec
    return PlantParams(p[None, :], spec.name, len(spec.zones))


@jit
def _step_kernel(
    x: np.ndarray, u: np.ndarray, d: np.ndarray, p: np.ndarray, x_new: np.ndarray, y: np.ndarray
) -> None:
    n_plants = x.shape[0]
    t_out = np.empty(MAX_ZONES)
    m_z = np.empty(MAX_ZONES)
    it_z = np.empty(MAX_ZONES)
    r_z = np.empty(MAX_ZONES)  # each zone's recirculation at this interval's CRAH air flow
    rh_z = np.empty(MAX_ZONES)  # and its hottest rack's
    for i in range(n_plants):
        pi = p[i]
        g = pi[OG : OG + N_GENERAL]
        ch = pi[OCH : OCH + chiller.RECORD_SIZE]
        tw = pi[OTW : OTW + tower.RECORD_SIZE]
        pu = pi[OPU : OPU + pump.RECORD_SIZE]
        cf = pi[OCF : OCF + pump.RECORD_SIZE]
        cr = pi[OCR : OCR + crah.RECORD_SIZE]
        sv = pi[OSV : OSV + racks.SERVER_RECORD_SIZE]
        ec = pi[OEC : OEC + economizer.RECORD_SIZE]

        interval = g[G.interval_s]
        n_sub = int(g[G.substeps])
        dt = interval / n_sub
        nz = int(g[G.zones])
        freeze = g[G.freeze_floor_c]

        # setpoints (actuator limits only; the safety envelope is the shield's job)
        chw_set = max(u[i, A.chw_supply_c], freeze)
        sa_set = u[i, A.supply_air_c]
        cw_set = max(u[i, A.cw_supply_c], freeze)
        speed = min(max(u[i, A.chw_pump_speed], pu[pump.MIN_SPEED]), 1.0)
        econ_cmd = u[i, A.economizer]
        airflow = min(max(u[i, A.crah_airflow], CRAH_AIRFLOW_MIN), CRAH_AIRFLOW_MAX)
        for z in range(int(g[G.zones])):
            zo = OZN + z * racks.ZONE_RECORD_SIZE
            r_z[z] = racks.recirculation_at(pi[zo + racks.RECIRCULATION], airflow)
            rh_z[z] = racks.recirculation_at(pi[zo + racks.HOT_RECIRCULATION], airflow)
        tdb = d[i, D.dry_bulb_c]
        twb = min(d[i, D.wet_bulb_c], tdb)
        compute_total = d[i, D.it_load_kw]
        it_rated = g[G.it_rated_kw]

        m_chw = speed * g[G.chw_design_kg_s]
        c_chw = m_chw * CP_WATER_KJ_KG_K
        node_c = g[G.chw_node_kg] * CP_WATER_KJ_KG_K
        basin_c = g[G.cw_basin_kg] * CP_WATER_KJ_KG_K
        chw_pump_kw = pump.power_kw(pu, speed)

        # state
        t_s = x[i, S.chw_supply_c]
        t_r = x[i, S.chw_return_c]
        t_cws = x[i, S.cw_supply_c]
        t_sa = x[i, S.supply_air_c]
        n_on = x[i, S.chillers_on]
        stage_timer = x[i, S.stage_timer_s]
        econ_on = x[i, S.economizer_on]
        econ_timer = x[i, S.economizer_timer_s]
        for z in range(MAX_ZONES):
            t_out[z] = x[i, S.zone0_exhaust_c + z]

        # accumulators (kJ, kg)
        e_it = 0.0
        e_compute = 0.0
        e_srv_fan = 0.0
        e_chiller = 0.0
        e_tower_fan = 0.0
        e_cw_pump = 0.0
        e_crah_fan = 0.0
        e_coil = 0.0
        e_econ = 0.0
        e_evap = 0.0
        e_cond = 0.0
        e_tower = 0.0
        w_evap = 0.0
        w_drift = 0.0
        w_blow = 0.0
        inlet_max = -1e9
        plr = 0.0
        y_fan = 0.0
        t_cw_ret = t_cws
        t_hot = t_sa
        air_crah = 0.0
        s_fan_max = 0.0

        for _ in range(n_sub):
            # 1. racks: fans, leakage and air flow from the current inlet temperatures
            m_hot = 0.0
            hot_sum = 0.0
            it_sub = 0.0
            fan_sub = 0.0
            for z in range(nz):
                zo = OZN + z * racks.ZONE_RECORD_SIZE
                rated = pi[zo + racks.RATED_KW]
                r = r_z[z]
                t_in = racks.inlet_c(t_sa, t_out[z], r)
                compute = compute_total * rated / it_rated
                it_kw, fan_kw, s = racks.server_power_kw(sv, rated, compute, t_in)
                s_fan_max = max(s_fan_max, s)
                m_z[z] = pi[zo + racks.AIR_DESIGN_KG_S] * s / sv[racks.FAN_MIN_SPEED]
                it_z[z] = it_kw
                m_hot += m_z[z] * (1.0 - r)
                hot_sum += m_z[z] * (1.0 - r) * t_out[z]
                it_sub += it_kw
                fan_sub += fan_kw
            t_hot = hot_sum / m_hot
            air_crah = m_hot * (1.0 + cr[crah.OVERSUPPLY])
            crah_fan_kw = pump.power_kw(cf, air_crah / g[G.crah_fan_design_kg_s])

            # 2. CRAH coil and zone masses
            t_sa, air_crah = crah.supply_air_c(cr, t_hot, m_hot, crah_fan_kw, t_s, m_chw, sa_set)
            heat_air = 0.0
            for z in range(nz):
                zo = OZN + z * racks.ZONE_RECORD_SIZE
                r = r_z[z]
                new, q_kj = racks.zone_update(
                    t_out[z], t_sa, it_z[z], m_z[z], r, pi[zo + racks.HEAT_CAPACITY_KJ_K], dt
                )
                t_out[z] = new
                heat_air += q_kj
                inlet_max = max(inlet_max, racks.inlet_c(t_sa, new, rh_z[z]))
            q_coil = heat_air / dt + crah_fan_kw
            t_coil_out = t_s + q_coil / c_chw

            # 3. chilled water: economizer then chillers, from the return node
            cells = n_on + econ_on
            m_cw = cells * g[G.cw_cell_kg_s]
            q_econ = 0.0
            if econ_on > 0.5:
                q_econ = economizer.heat_kw(ec, t_r, t_cws, m_chw, g[G.cw_cell_kg_s], chw_set)
            t_hx_out = t_r - q_econ / c_chw
            q_load = max(c_chw * (t_hx_out - chw_set), 0.0)
            ecwt = max(t_cws, g[G.min_ecwt_c])
            q_ch = 0.0
            p_ch = 0.0
            plr = 0.0
            if n_on > 0.0:
                q_each, p_each, plr = chiller.operate(ch, q_load / n_on, chw_set, ecwt)
                q_ch = n_on * q_each
                p_ch = n_on * p_each
            t_plant_out = t_hx_out - q_ch / c_chw
            t_r_new = t_r + dt * (c_chw * (t_coil_out - t_r) + chw_pump_kw) / node_c
            t_s_new = t_s + dt * c_chw * (t_plant_out - t_s) / node_c

            # 4. condenser water and towers
            cw_pump_kw = cells * g[G.cw_pump_cell_kw]
            q_cw_in = q_ch + p_ch + q_econ + cw_pump_kw
            if cells > 0.0:
                c_cw = m_cw * CP_WATER_KJ_KG_K
                range_k = q_cw_in / c_cw
                t_cw_in = t_cws + range_k
                if econ_on > 0.5:
                    target = max(chw_set - ec[economizer.HX_APPROACH_K], freeze)
                else:
                    target = cw_set
                y_fan, t_lo = tower.operate(tw, t_cw_in, range_k, twb, target)
                bypass = 0.0
                if t_lo < target and t_cw_in > t_lo:
                    bypass = min((target - t_lo) / (t_cw_in - t_lo), 1.0)
                q_tower = (1.0 - bypass) * c_cw * (t_cw_in - t_lo)
                t_cws_new = t_cws + dt * (q_cw_in - q_tower) / basin_c
                t_cw_ret = t_cw_in
                e_tower_fan += tower.fan_power_kw(tw, y_fan, cells) * dt
                ev, dr, bd = tower.water_use_kg_s(tw, q_tower, y_fan, cells)
                w_evap += ev * dt
                w_drift += dr * dt
                w_blow += bd * dt
            else:
                y_fan = 0.0
                t_cws_new = twb + (t_cws - twb) * math.exp(-dt / g[G.basin_idle_tau_s])
                q_tower = basin_c * (t_cws - t_cws_new) / dt
                t_cw_ret = t_cws

            # accumulate
            e_it += it_sub * dt
            e_compute += compute_total * dt
            e_srv_fan += fan_sub * dt
            e_chiller += p_ch * dt
            e_cw_pump += cw_pump_kw * dt
            e_crah_fan += crah_fan_kw * dt
            e_coil += q_coil * dt
            e_econ += q_econ * dt
            e_evap += q_ch * dt
            e_cond += (q_ch + p_ch) * dt
            e_tower += q_tower * dt

            t_s = t_s_new
            t_r = t_r_new
            t_cws = t_cws_new

            # 5. the plant's own controls for the next sub-step
            q_avail_each = chiller.available_capacity_kw(ch, chw_set, ecwt)
            n_on, stage_timer = chiller.next_stage(
                n_on,
                g[G.chillers_installed],
                stage_timer + dt,
                q_load,
                q_avail_each,
                g[G.stage_up_plr],
                g[G.stage_down_plr],
                g[G.stage_wait_s],
            )
            econ_on, econ_timer = economizer.next_mode(
                ec, econ_on, econ_timer + dt, econ_cmd, t_r, twb
            )

        # write the new state
        x_new[i, S.chw_supply_c] = t_s
        x_new[i, S.chw_return_c] = t_r
        x_new[i, S.cw_supply_c] = t_cws
        x_new[i, S.supply_air_c] = t_sa
        x_new[i, S.chillers_on] = n_on
        x_new[i, S.stage_timer_s] = stage_timer
        x_new[i, S.economizer_on] = econ_on
        x_new[i, S.economizer_timer_s] = econ_timer
        for z in range(MAX_ZONES):
            x_new[i, S.zone0_exhaust_c + z] = t_out[z]

        # telemetry
        inv = 1.0 / interval
        it_avg = e_it * inv
        chw_pump_avg = chw_pump_kw
        cooling = (e_chiller + e_tower_fan + e_cw_pump + e_crah_fan) * inv + chw_pump_avg
        loss = g[G.electrical_loss_fraction] * it_avg
        y[i, T.it_kw] = it_avg
        y[i, T.it_compute_kw] = e_compute * inv
        y[i, T.server_fan_kw] = e_srv_fan * inv
        y[i, T.chiller_kw] = e_chiller * inv
        y[i, T.tower_fan_kw] = e_tower_fan * inv
        y[i, T.chw_pump_kw] = chw_pump_avg
        y[i, T.cw_pump_kw] = e_cw_pump * inv
        y[i, T.crah_fan_kw] = e_crah_fan * inv
        y[i, T.cooling_kw] = cooling
        y[i, T.electrical_loss_kw] = loss
        y[i, T.facility_kw] = it_avg + cooling + loss
        y[i, T.q_coil_kw] = e_coil * inv
        y[i, T.q_economizer_kw] = e_econ * inv
        y[i, T.q_chiller_kw] = e_evap * inv
        y[i, T.q_condenser_kw] = e_cond * inv
        y[i, T.q_tower_kw] = e_tower * inv
        y[i, T.heat_in_kw] = it_avg + chw_pump_avg + (e_chiller + e_cw_pump + e_crah_fan) * inv
        # water [kg → L at ~1 kg/L]
        y[i, T.water_evaporation_l] = w_evap
        y[i, T.water_drift_l] = w_drift
        y[i, T.water_blowdown_l] = w_blow
        y[i, T.water_l] = w_evap + w_drift + w_blow
        y[i, T.chw_supply_c] = t_s
        y[i, T.chw_return_c] = t_r
        y[i, T.cw_supply_c] = t_cws
        y[i, T.cw_return_c] = t_cw_ret
        y[i, T.supply_air_c] = t_sa
        y[i, T.return_air_c] = t_hot
        y[i, T.inlet_max_c] = inlet_max
        mean_sum = 0.0
        for z in range(MAX_ZONES):
            zo = OZN + z * racks.ZONE_RECORD_SIZE
            if z < nz:
                t_mean = racks.inlet_c(t_sa, t_out[z], r_z[z])
                t_max = racks.inlet_c(t_sa, t_out[z], rh_z[z])
                mean_sum += t_mean * pi[zo + racks.RATED_KW]
            else:
                t_mean = np.nan
                t_max = np.nan
            y[i, T.zone0_inlet_mean_c + z] = t_mean
            y[i, T.zone0_inlet_max_c + z] = t_max
        y[i, T.inlet_mean_c] = mean_sum / it_rated
        y[i, T.chillers_on] = n_on
        y[i, T.chiller_plr] = plr
        y[i, T.tower_fan_speed] = y_fan
        y[i, T.economizer_on] = econ_on
        y[i, T.chw_flow_kg_s] = m_chw
        y[i, T.crah_air_kg_s] = air_crah
        y[i, T.server_fan_speed] = s_fan_max
        y[i, T.outdoor_dry_bulb_c] = tdb
        y[i, T.outdoor_wet_bulb_c] = twb
        for j in range(len(SETPOINT_NAMES)):
            y[i, T.chw_supply_c_set + j] = u[i, j]


@jit
def _initial_kernel(u: np.ndarray, d: np.ndarray, p: np.ndarray, x: np.ndarray) -> None:
    for i in range(x.shape[0]):
        pi = p[i]
        g = pi[OG : OG + N_GENERAL]
        ch = pi[OCH : OCH + chiller.RECORD_SIZE]
        pu = pi[OPU : OPU + pump.RECORD_SIZE]
        sv = pi[OSV : OSV + racks.SERVER_RECORD_SIZE]
        chw_set = max(u[i, A.chw_supply_c], g[G.freeze_floor_c])
        cw_set = max(u[i, A.cw_supply_c], g[G.freeze_floor_c])
        speed = min(max(u[i, A.chw_pump_speed], pu[pump.MIN_SPEED]), 1.0)
        twb = min(d[i, D.wet_bulb_c], d[i, D.dry_bulb_c])
        it_kw = d[i, D.it_load_kw]
        q_est = it_kw * (1.0 + sv[racks.FAN_FRACTION]) * 1.05
        m_chw = speed * g[G.chw_design_kg_s]
        x[i, S.chw_supply_c] = chw_set
        x[i, S.chw_return_c] = chw_set + q_est / (m_chw * CP_WATER_KJ_KG_K)
        t_cws = max(cw_set, twb + 4.0)
        x[i, S.cw_supply_c] = t_cws
        x[i, S.supply_air_c] = u[i, A.supply_air_c]
        q_avail = chiller.available_capacity_kw(ch, chw_set, max(t_cws, g[G.min_ecwt_c]))
        n = math.ceil(q_est / (g[G.stage_up_plr] * q_avail))
        x[i, S.chillers_on] = min(max(n, 1.0), g[G.chillers_installed])
        x[i, S.stage_timer_s] = g[G.stage_wait_s]
        x[i, S.economizer_on] = 0.0
        x[i, S.economizer_timer_s] = pi[OEC + economizer.HOLD_S]
        airflow = min(max(u[i, A.crah_airflow], CRAH_AIRFLOW_MIN), CRAH_AIRFLOW_MAX)
        for z in range(MAX_ZONES):
            zo = OZN + z * racks.ZONE_RECORD_SIZE
            rated = pi[zo + racks.RATED_KW]
            if z < g[G.zones] and rated > 0.0:
                r = racks.recirculation_at(pi[zo + racks.RECIRCULATION], airflow)
                share = it_kw * rated / g[G.it_rated_kw]
                dt_air = share / (pi[zo + racks.AIR_DESIGN_KG_S] * CP_AIR_KJ_KG_K * (1.0 - r))
                x[i, S.zone0_exhaust_c + z] = u[i, A.supply_air_c] + dt_air
            else:
                x[i, S.zone0_exhaust_c + z] = u[i, A.supply_air_c]


def _check_inputs(setpoints: Setpoints, disturbances: Disturbances, n: int) -> None:
    if len(setpoints) != n or len(disturbances) != n:
        raise ValueError(
            f"batch sizes differ: {n} plants, {len(setpoints)} setpoint rows, "
            f"{len(disturbances)} disturbance rows"
        )
    if not np.isfinite(setpoints.data).all():
        bad = [SETPOINT_NAMES[j] for j in np.flatnonzero(~np.isfinite(setpoints.data).all(0))]
        raise ValueError(f"non-finite setpoint(s): {', '.join(bad)}; every setpoint must be finite")
    dd = disturbances.data
    if not np.isfinite(dd).all():
        bad = [DISTURBANCE_NAMES[j] for j in np.flatnonzero(~np.isfinite(dd).all(0))]
        raise ValueError(f"non-finite disturbance(s): {', '.join(bad)}")
    if (dd[:, D.it_load_kw] < 0.0).any():
        worst = float(dd[:, D.it_load_kw].min())
        raise ValueError(f"negative IT load {worst:g} kW: IT load must be >= 0 kW")


def initial_state(
    params: PlantParams,
    setpoints: Setpoints,
    disturbances: Disturbances,
    warmup_steps: int = 12,
) -> PlantState:
    """A state near steady operation at the given setpoints and conditions.

    Temperatures are set from a design-like estimate, then the plant is stepped
    ``warmup_steps`` intervals with the same inputs so that its masses settle.
    """
    _check_inputs(setpoints, disturbances, len(params))
    x = np.empty((len(params), len(STATE_NAMES)))
    c = np.ascontiguousarray
    _initial_kernel(c(setpoints.data), c(disturbances.data), c(params.data), x)
    state = PlantState(x)
    for _ in range(warmup_steps):
        state, _ = step(state, setpoints, disturbances, params)
    return state


def step(
    state: PlantState,
    setpoints: Setpoints,
    disturbances: Disturbances,
    params: PlantParams,
    check: bool = True,
) -> tuple[PlantState, Telemetry]:
    """Advance N plants by one control interval; returns the new state and the telemetry.

    Raises ``ValueError`` for non-finite setpoints or disturbances and for a negative
    IT load (``check=False`` skips these checks in trusted hot loops).
    """
    n = len(params)
    if check:
        if len(state) != n:
            raise ValueError(f"state has {len(state)} rows for {n} plants")
        _check_inputs(setpoints, disturbances, n)
    x_new = np.empty_like(state.data, order="C")
    y = np.empty((n, len(TELEMETRY_NAMES)))
    c = np.ascontiguousarray  # one compiled specialisation, whatever the callers' layouts
    _step_kernel(c(state.data), c(setpoints.data), c(disturbances.data), c(params.data), x_new, y)
    return PlantState(x_new), Telemetry(y)


def stored_heat_kj(state: PlantState, params: PlantParams) -> np.ndarray:
    """Heat stored in the plant's masses [kJ] relative to 0 °C, per plant.

    Zone masses (racks and hot-aisle air), the two chilled-water nodes and the
    condenser-water basin: the quantities the step integrates.
    """
    p = params.data
    x = state.data
    node_c = p[:, OG + G.chw_node_kg] * CP_WATER_KJ_KG_K
    basin_c = p[:, OG + G.cw_basin_kg] * CP_WATER_KJ_KG_K
    total: np.ndarray = (
        node_c * (x[:, S.chw_supply_c] + x[:, S.chw_return_c]) + basin_c * x[:, S.cw_supply_c]
    )
    for z in range(MAX_ZONES):
        heat_capacity = p[:, OZN + z * racks.ZONE_RECORD_SIZE + racks.HEAT_CAPACITY_KJ_K]
        total = total + heat_capacity * x[:, S.zone0_exhaust_c + z]
    return total


def _perturbed_entries() -> np.ndarray:
    idx = [
        OCR + crah.HA_AIR_KW_K,  # coil effectiveness
        OCR + crah.HA_WATER_KW_K,
        OTW + tower.LG_DESIGN,  # tower effectiveness
        OG + G.chw_node_kg,  # thermal masses
        OG + G.cw_basin_kg,
        OCH + chiller.Q_REF_KW,  # chiller capacity
    ]
    for z in range(MAX_ZONES):
        o = OZN + z * racks.ZONE_RECORD_SIZE
        idx += [o + racks.HEAT_CAPACITY_KJ_K, o + racks.RECIRCULATION, o + racks.HOT_RECIRCULATION]
    return np.array(idx)


#: Parameter entries that :func:`perturb` scales: coil and tower effectiveness, thermal
#: masses (zones, chilled- and condenser-water loops), recirculation, chiller capacity.
PERTURBED_ENTRIES = _perturbed_entries()


def perturb(params: PlantParams, rng: np.random.Generator, fraction: float) -> PlantParams:
    """A copy of ``params`` with each of PERTURBED_ENTRIES scaled by U(1−f, 1+f) per plant.

    Domain randomisation for training, and the "plant is not the model" test of the
    safety shield. The hottest rack's recirculation is kept at least the zone's mean.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"perturbation fraction must be in [0, 1) (got {fraction})")
    data = params.data.copy()
    scale = rng.uniform(1.0 - fraction, 1.0 + fraction, (len(params), PERTURBED_ENTRIES.size))
    data[:, PERTURBED_ENTRIES] *= scale
    for z in range(MAX_ZONES):
        o = OZN + z * racks.ZONE_RECORD_SIZE
        mean = data[:, o + racks.RECIRCULATION]
        data[:, o + racks.HOT_RECIRCULATION] = np.maximum(
            data[:, o + racks.HOT_RECIRCULATION], mean
        )
    return PlantParams(data, params.site, params.zones)
