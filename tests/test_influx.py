"""The InfluxDB edge against real servers: influxd 1.x (semantics), victoria-metrics (only
the /api/v2/write wire format) and, when INFLUX_V2_* is set, a real InfluxDB 2.x/3.x."""

from __future__ import annotations

import json
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cooling.io import influx
from cooling.io.influx import InfluxConfig, InfluxSink, Spool, encode, ensure_database
from tests.influx_server import (
    Influxd,
    VictoriaMetrics,
    binary,
    free_port,
    influxd,
    victoria_metrics,
)

__all__ = ["influxd", "victoria_metrics"]  # fixtures, imported to be found by pytest

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "hil" / "grafana" / "dc-cooling.json"
T0 = 1_700_000_000_000  # ms


def config(tmp_path: Path, url: str, db: str, **kw) -> InfluxConfig:
    kw.setdefault("spool_path", str(tmp_path / "spool.sqlite"))
    return InfluxConfig(url=url, database=db, backoff_max_s=0.3, **kw)


def open_sink(cfg: InfluxConfig) -> InfluxSink:
    assert ensure_database(cfg)
    return InfluxSink(cfg)


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


# encode -------------------------------------------------------------------------------------


def test_encode_numbers_become_floats_and_non_finite_is_left_out():
    line = encode(
        "m",
        {"site": "a", "zone": ""},
        {"i": 3, "n": np.int64(7), "f": np.float32(2.5), "b": True, "nb": np.bool_(False),
         "s": "ok", "nan": float("nan"), "inf": -math.inf},
        T0 + 123,
    )  # fmt: skip
    assert line == 'm,site=a b=true,f=2.5,i=3,n=7,nb=false,s="ok" 1700000000123'
    assert encode("m", {"site": "a"}, {"x": float("nan")}, T0) == ""
    with pytest.raises(TypeError, match=r"m\.x: list"):
        encode("m", {}, {"x": [1.0]}, T0)  # type: ignore[dict-item]


@pytest.mark.integration
def test_encode_round_trip_on_influxd(influxd: Influxd, tmp_path: Path):
    db = "enc"
    sink = open_sink(config(tmp_path, influxd.url, db))
    tags = {"site": "lab 1", "zone": "crah,1=a"}
    message = 'said "hi" \\ then, left=1'
    sink.write([encode("t_enc", tags, {"v": 3, "message": message, "on": True}, T0 + 123)])
    assert sink.flush(10)
    keys = {r["fieldKey"]: r["fieldType"] for r in influxd.query("SHOW FIELD KEYS", db)}
    assert keys == {"v": "float", "message": "string", "on": "boolean"}
    # a float after the int-looking 3 is accepted: no field type conflict
    sink.write([encode("t_enc", tags, {"v": 3.5}, T0 + 124)])
    assert sink.flush(10)
    rows = influxd.query('SELECT "v", "message", "on", "site", "zone" FROM "t_enc"', db)
    assert [(r["time"], r["v"]) for r in rows] == [(T0 + 123, 3.0), (T0 + 124, 3.5)]
    assert rows[0]["message"] == message and rows[0]["on"] is True
    assert (rows[0]["site"], rows[0]["zone"]) == ("lab 1", "crah,1=a")
    assert sink.stats()["dead_letter"] == 0
    sink.close()
    # the premise: an integer field followed by a float is refused
    assert influxd.write(db, [f"t_int v=3i {T0}"])[0] == 204
    status, text = influxd.write(db, [f"t_int v=3.5 {T0 + 1}"])
    assert status == 400 and "field type conflict" in text


# spool --------------------------------------------------------------------------------------


def test_spool_cap_drops_oldest_keeps_order(tmp_path: Path):
    spool = Spool(tmp_path / "s.sqlite", max_points=5)
    spool.append([f"l{i}" for i in range(3)])
    spool.append([f"l{i}" for i in range(3, 9)])
    assert len(spool) == 5 and spool.dropped == 4
    assert [line for _, line in spool.peek(10)] == ["l4", "l5", "l6", "l7", "l8"]
    ids = [i for i, _ in spool.peek(10)]
    assert ids == sorted(ids)
    assert spool.delete_upto(ids[1]) == 2 and spool.delete([ids[3]]) == 1
    assert [line for _, line in spool.peek(10)] == ["l6", "l8"]
    spool.append([f"n{i}" for i in range(12)])  # more than the cap in one call
    assert [line for _, line in spool.peek(10)] == [f"n{i}" for i in range(7, 12)]
    assert spool.dropped == 4 + 2 + 7
    spool.close()


def test_spool_survives_a_killed_process(tmp_path: Path):
    path = tmp_path / "s.sqlite"
    script = f"""
import os, signal
from cooling.io.influx import Spool
s = Spool({str(path)!r}, max_points=600)
for k in range(10):
    s.append([f"line{{100 * k + i}}" for i in range(100)])
os.kill(os.getpid(), signal.SIGKILL)  # no close(), no clean shutdown
"""
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()
    spool = Spool(path, max_points=600)
    assert len(spool) == 600 and spool.dropped == 400
    assert [line for _, line in spool.peek(1000)] == [f"line{i}" for i in range(400, 1000)]
    spool.close()


@settings(max_examples=30, deadline=None)
@given(
    cap=st.integers(1, 20),
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("append"), st.integers(0, 30)),
            st.tuples(st.just("send"), st.integers(1, 25)),
            st.tuples(st.just("reopen"), st.just(0)),
        ),
        max_size=15,
    ),
)
def test_spool_matches_a_bounded_fifo(cap: int, ops: list[tuple[str, int]]):
    """Whatever the appends, sends and reopenings: contents = the newest `cap` lines not yet
    sent, in write order; dropped = written - sent - held."""
    with tempfile.TemporaryDirectory() as tmp:
        spool = Spool(Path(tmp) / "s.sqlite", cap)
        model: list[str] = []
        written = sent = 0
        for op, n in ops:
            if op == "append":
                lines = [f"p{written + i}" for i in range(n)]
                written += n
                spool.append(lines)
                model = (model + lines)[-cap:]
            elif op == "send":
                batch = spool.peek(n)
                if batch:
                    spool.delete_upto(batch[-1][0])
                sent += len(batch)
                model = model[len(batch) :]
            else:
                spool.close()
                spool = Spool(Path(tmp) / "s.sqlite", cap)
            assert [line for _, line in spool.peek(cap + 1)] == model
            assert len(spool) == len(model)
            assert spool.dropped == written - sent - len(model)
        spool.close()


# sink → influxd -----------------------------------------------------------------------------


@pytest.mark.integration
def test_sink_delivers_every_point_once_in_order(influxd: Influxd, tmp_path: Path):
    """Every timestamp is written twice (v = k, then v = k + 0.5); if batches went out of
    order an older value would win."""
    n = 3000
    sink = open_sink(config(tmp_path, influxd.url, "order", batch_size=400))
    for rnd in (0.0, 0.5):
        for start in range(0, n, 250):
            sink.write([encode("t_order", {"site": "a"}, {"v": k + rnd}, T0 + k)
                        for k in range(start, start + 250)])  # fmt: skip
    assert sink.flush(20)
    stats = sink.stats()
    assert (stats["sent"], stats["spooled"], stats["dead_letter"]) == (2 * n, 0, 0)
    sink.close()
    rows = influxd.query('SELECT "v" FROM "t_order"', "order")
    assert [r["time"] for r in rows] == [T0 + k for k in range(n)]
    assert [r["v"] for r in rows] == [k + 0.5 for k in range(n)]


@pytest.mark.integration
def test_outage_and_controller_restart_lose_nothing(influxd: Influxd, tmp_path: Path):
    n_chunks, per_chunk = 12, 100
    cfg = config(tmp_path, influxd.url, "outage", batch_size=150)
    sink = open_sink(cfg)
    write_s = []
    try:
        for c in range(n_chunks):
            if c == 3:
                influxd.stop()  # SIGKILL mid-stream
            if c == 8:  # the controller dies during the outage and starts again
                t = time.monotonic()
                sink.close(timeout_s=0.5)
                assert time.monotonic() - t < 0.5 + cfg.timeout_s
                sent_before = sink.stats()["sent"]
                sink = InfluxSink(cfg)
            lines = [encode("t_out", {"site": "a"}, {"v": float(c * per_chunk + i)},
                            T0 + c * per_chunk + i) for i in range(per_chunk)]  # fmt: skip
            t = time.monotonic()
            sink.write(lines)
            write_s.append(time.monotonic() - t)
            time.sleep(0.01)
        wait_for(lambda: sink.stats()["errors"] >= 1)
        stats = sink.stats()
        assert stats["spooled"] >= 4 * per_chunk and not stats["server_ok"]
        assert stats["last_error"]
    finally:
        influxd.start()
    assert max(write_s) < 0.5, write_s  # the network is never waited on
    assert sink.flush(20)
    assert sent_before + sink.stats()["sent"] == n_chunks * per_chunk
    sink.close()
    rows = influxd.query('SELECT "v" FROM "t_out"', "outage")
    assert len(rows) == n_chunks * per_chunk
    assert {r["time"] for r in rows} == {T0 + k for k in range(n_chunks * per_chunk)}
    assert all(r["v"] == r["time"] - T0 for r in rows)


@pytest.mark.integration
def test_refused_lines_go_to_dead_letter_the_rest_arrives(influxd: Influxd, tmp_path: Path):
    cfg = config(tmp_path, influxd.url, "dead", batch_size=64)
    sink = open_sink(cfg)
    lines = [encode("t_dead", {"site": "a"}, {"v": float(k)}, T0 + k) for k in range(50)]
    conflict = encode("t_dead", {"site": "a"}, {"v": "text"}, T0 + 1000)  # v is a float
    lines[17:17] = [conflict]
    lines[40:40] = ["not line protocol"]
    sink.write(lines)
    assert sink.flush(20)
    assert sink.stats()["dead_letter"] == 2 and sink.stats()["sent"] == 50
    sink.close()
    rows = influxd.query('SELECT "v" FROM "t_dead"', "dead")
    assert [r["time"] for r in rows] == [T0 + k for k in range(50)]
    dead = [json.loads(x) for x in Path(cfg.dead_letters).read_text().splitlines()]
    assert [(d["line"], d["status"]) for d in dead] == [(conflict, 400), ("not line protocol", 400)]
    assert "field type conflict" in dead[0]["reason"] and "unable to parse" in dead[1]["reason"]


@pytest.mark.integration
def test_spool_cap_while_server_down_counts_drops(influxd: Influxd, tmp_path: Path):
    down = config(tmp_path, f"http://127.0.0.1:{free_port()}", "cap", spool_max_points=50)
    sink = InfluxSink(down)
    sink.write([encode("t_cap", {}, {"v": float(k)}, T0 + k) for k in range(80)])
    wait_for(lambda: sink.stats()["errors"] >= 1)
    stats = sink.stats()
    assert (stats["spooled"], stats["dropped"], stats["server_ok"]) == (50, 30, False)
    assert "Connection" in stats["last_error"] or "refused" in stats["last_error"]
    sink.close(timeout_s=0.2)
    up = open_sink(config(tmp_path, influxd.url, "cap", spool_max_points=50))
    assert up.flush(10) and up.stats()["dropped"] == 30  # persisted with the spool
    up.close()
    rows = influxd.query('SELECT "v" FROM "t_cap"', "cap")
    assert [r["time"] for r in rows] == [T0 + k for k in range(30, 80)]  # the newest kept


@pytest.mark.integration
def test_credentials_and_refused_auth_is_retried_not_dropped(tmp_path: Path):
    """influxd with auth on: a wrong password is 401, retried with the points kept; the
    right one (HTTP basic auth) delivers them."""
    exe = binary("influxd")
    if exe is None:
        pytest.skip("influxd is not installed (bash scripts/test.sh installs it as root)")
    server = Influxd(tmp_path / "influxd", exe, auth=True)
    server.start()
    try:
        server.query('CREATE DATABASE "auth"')
        wrong = config(tmp_path, server.url, "auth", username="admin", password="wrong")
        sink = InfluxSink(wrong)
        sink.write([encode("t_auth", {}, {"v": float(k)}, T0 + k) for k in range(20)])
        wait_for(lambda: sink.stats()["errors"] >= 2)
        stats = sink.stats()
        assert stats["errors"] >= 2 and stats["spooled"] == 20 and stats["dead_letter"] == 0
        assert "401" in stats["last_error"] and "authorization failed" in stats["last_error"]
        sink.close(timeout_s=0.2)
        right = config(tmp_path, server.url, "auth", username="admin",
                       password=Influxd.ADMIN_PASSWORD)  # fmt: skip
        assert ensure_database(right)
        sink = InfluxSink(right)
        assert sink.flush(10)
        sink.close()
        assert len(server.query('SELECT "v" FROM "t_auth"', "auth")) == 20
    finally:
        server.stop()


def test_write_never_waits_on_a_silent_server(tmp_path: Path):
    """A server that accepts connections and never answers: write() stays instant while the
    sender waits out its request timeout; close() is bounded by its timeout plus one request."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        sink = InfluxSink(config(tmp_path, url, "silent", timeout_s=1.0))
        write_s = []
        for k in range(20):
            t = time.monotonic()
            sink.write([encode("t_silent", {}, {"v": float(k)}, T0 + k)])
            write_s.append(time.monotonic() - t)
            time.sleep(0.01)
        assert max(write_s) < 0.5, write_s
        assert not sink.flush(0.3) and sink.stats()["spooled"] == 20
        t = time.monotonic()
        sink.close(timeout_s=0.2)
        assert time.monotonic() - t < 0.2 + 1.0 + 0.5
        assert sink.stats()["spooled"] == 20 and sink.stats()["sent"] == 0


# v2 transport -------------------------------------------------------------------------------


@pytest.mark.integration
def test_v2_wire_format_against_victoria_metrics(victoria_metrics: VictoriaMetrics, tmp_path: Path):
    """v2 wire format (influxdb-client /api/v2/write) against victoria-metrics: not InfluxDB
    semantics (it ignores the token, stores series as measurement_field)."""
    cfg = InfluxConfig(url=victoria_metrics.url, transport="v2", token="unchecked", org="o",
                       bucket="b", spool_path=str(tmp_path / "s.sqlite"))  # fmt: skip
    now = (int(time.time()) - 600) * 1000
    sink = InfluxSink(cfg)
    sink.write([encode("t_v2", {"site": "a"}, {"v": k * 0.25}, now + 10 * k) for k in range(200)])
    assert sink.flush(10) and sink.stats()["sent"] == 200
    sink.close()
    deadline = time.monotonic() + 10
    while True:
        series = victoria_metrics.export('{__name__="t_v2_v"}')
        if sum(len(s["timestamps"]) for s in series) >= 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(series) == 1 and series[0]["metric"]["site"] == "a"
    assert series[0]["timestamps"] == [now + 10 * k for k in range(200)]
    assert series[0]["values"] == [k * 0.25 for k in range(200)]


V2_ENV = ("INFLUX_V2_URL", "INFLUX_V2_TOKEN", "INFLUX_V2_ORG", "INFLUX_V2_BUCKET")


@pytest.mark.integration
@pytest.mark.skipif(
    not all(os.environ.get(k) for k in V2_ENV),
    reason="set INFLUX_V2_URL, INFLUX_V2_TOKEN, INFLUX_V2_ORG, INFLUX_V2_BUCKET for a real "
    "InfluxDB 2.x/3.x",
)
def test_v2_against_real_influxdb(tmp_path: Path):
    url, token, org, bucket = (os.environ[k] for k in V2_ENV)
    cfg = InfluxConfig(url=url, transport="v2", token=token, org=org, bucket=bucket,
                       spool_path=str(tmp_path / "s.sqlite"))  # fmt: skip
    run = f"r{time.time_ns()}"
    now = (int(time.time()) - 60) * 1000
    n = 100
    sink = InfluxSink(cfg)
    sink.write([encode("dcc_test", {"run": run}, {"v": float(k)}, now + k) for k in range(n)])
    assert sink.flush(30), sink.stats()
    assert sink.stats()["dead_letter"] == 0
    sink.close()
    assert _count_v2(cfg, run) == n


def _count_v2(cfg: InfluxConfig, run: str) -> int:
    """Points of this run: Flux (2.x), else InfluxQL on /query (3.x, 2.x with DBRP)."""
    import urllib.parse
    import urllib.request

    from influxdb_client import InfluxDBClient

    flux = (f'from(bucket: "{cfg.bucket}") |> range(start: -1h) |> filter(fn: (r) => '
            f'r._measurement == "dcc_test" and r.run == "{run}") |> count()')  # fmt: skip
    try:
        with InfluxDBClient(url=cfg.url, token=cfg.token, org=cfg.org) as client:
            tables = client.query_api().query(flux)
        return sum(int(rec.get_value()) for t in tables for rec in t.records)
    except Exception:
        q = urllib.parse.urlencode(
            {"db": cfg.bucket, "q": f'SELECT count("v") FROM "dcc_test" WHERE "run" = \'{run}\''}
        )
        req = urllib.request.Request(f"{cfg.url.rstrip('/')}/query?{q}",
                                     headers={"Authorization": f"Token {cfg.token}"})  # fmt: skip
        with urllib.request.urlopen(req, timeout=10) as r:
            data = json.loads(r.read())
        return int(data["results"][0]["series"][0]["values"][0][1])


# configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"transport": "v3"}, "transport 'v3'; allowed: v1, v2"),
        ({"url": "127.0.0.1:8086"}, "url must be http"),
        ({"url": "ftp://h:1"}, "url must be http"),
        ({"transport": "v2", "token": "t"}, "needs org, bucket"),
        ({"database": ""}, "needs a database"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"spool_max_points": -5}, "spool_max_points must be a positive integer"),
        ({"timeout_s": 0}, "timeout_s must be > 0"),
        ({"username": "u"}, "username and password go together"),
        ({"username": "u", "password": "p", "token": "t"}, "either username/password or token"),
        ({"backoff_min_s": 10.0}, "backoff_min_s must be > 0 and <= backoff_max_s"),
    ],
)
def test_bad_config_is_refused_with_a_clear_message(changes: dict, message: str):
    kw = {"url": "http://127.0.0.1:8086", **changes}
    with pytest.raises(ValueError, match=re.escape(message)):
        InfluxConfig(**kw)


def test_ensure_database_reports_an_unreachable_server(tmp_path: Path):
    assert ensure_database(config(tmp_path, f"http://127.0.0.1:{free_port()}", "x")) is False


# schema: docstring table and Grafana dashboard ------------------------------------------------


def test_docstring_table_is_the_schema():
    table: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    row = r"^\|\s*(?:`(\w+)`)?\s*\|\s*([^|]*?)\s*\|\s*([^|]*?)\s*\|$"
    for name, tags, fields in re.findall(row, influx.__doc__ or "", re.M):
        if name:  # a row without a name continues the one above
            m = name
            table[m] = (tuple(tags.split(", ")), ())
        more = tuple(f.strip() for f in fields.split(",") if f.strip())
        table[m] = (table[m][0], table[m][1] + more)
    assert table == influx.SCHEMA


def _dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    queries = [v["query"] if isinstance(v["query"], str) else v["query"]["query"]
               for v in board["templating"]["list"] if v.get("type") == "query"]  # fmt: skip
    panels = list(board["panels"])
    while panels:
        panel = panels.pop()
        panels += panel.get("panels", [])
        for target in panel.get("targets", []):
            assert target.get("rawQuery") is True, (panel["title"], target)
            queries.append(target["query"])
    return queries


def test_dashboard_queries_use_only_the_schema():
    board = json.loads(DASHBOARD.read_text())
    assert board["schemaVersion"] >= 36
    queries = _dashboard_queries()
    measurements_used = set()
    for q in queries:
        froms = re.findall(r'\bFROM\s+"(\w+)"', q)
        assert froms, f'no FROM "measurement" in {q!r}'
        for m in froms:
            assert m in influx.SCHEMA, f"{m!r} is not a measurement of the schema: {q!r}"
            measurements_used.add(m)
        tags = {t for m in froms for t in influx.SCHEMA[m][0]}
        fields = {f for m in froms for f in influx.SCHEMA[m][1]}
        if q.lstrip().upper().startswith("SHOW TAG VALUES"):
            key = re.search(r'WITH KEY\s*=\s*"(\w+)"', q)
            assert key and key.group(1) in tags, q
            continue
        select = re.match(r"\s*SELECT\s+(.*?)\s+FROM\s", q, re.S | re.I)
        assert select, q
        columns = re.sub(r'\bAS\s+"[^"]*"', "", select.group(1))
        used = set(re.findall(r'"(\w+)"', columns))
        assert used and used <= fields | tags, f"{used - fields - tags} not in schema: {q!r}"
        rest = q[select.end() :]
        for ident in re.findall(r'"(\w+)"', rest):
            assert ident in tags | set(froms), f"{ident!r} is not a tag of {froms}: {q!r}"
    assert measurements_used == set(influx.SCHEMA)


@pytest.mark.integration
def test_dashboard_queries_run_on_influxd(influxd: Influxd, tmp_path: Path):
    """Every panel query parses on a real influxd and finds the points one controller tick
    (plus a safety event) writes."""
    sink = open_sink(config(tmp_path, influxd.url, "board"))
    event = encode("safety_event", {"site": "lab", "rule": "RATE_LIMIT", "mode": "shadow"},
                   {"count": 1.0, "message": "chw_supply_c step clamped"}, T0)  # fmt: skip
    sink.write([*influx.controller_tick("lab", T0), event])
    assert sink.flush(10)
    sink.close()
    subs = {"$timeFilter": f"time >= {T0 - 3_600_000}ms AND time <= {T0 + 3_600_000}ms",
            "$__interval": "1m", "$site": "lab", "$point": "chw_supply_c"}  # fmt: skip
    for q in _dashboard_queries():
        for key, value in subs.items():
            q = q.replace(key, value)
        rows = influxd.query(q, "board")
        values = [v for r in rows for k, v in r.items() if k != "time" and v is not None]
        assert values, f"no data for {q!r}"
