"""The deployed loop end to end: virtual plant ↔ controller over a real mosquitto (with the
shipped password file and ACL), points into a real influxd. Nothing is mocked.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cooling.demo import SHIPPED
from cooling.hil.virtual_plant import VirtualPlant
from cooling.io import messages as msg
from cooling.io.influx import SCHEMA, InfluxConfig
from cooling.io.mqtt import BrokerConfig, MqttLink
from cooling.service import Controller, ControllerConfig, ServiceConfig, load_config
from cooling.setpoints import NAMES, fixed_vector
from cooling.spec import load_site
from tests.mqtt_server import PASSWORDS, Mosquitto

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
POLICY = str(SHIPPED["enterprise"])
SPEED = 6000.0  # one simulated day in about 15 s
#: at 6000x a 300 s interval is 50 ms of wall time: windows of an hour and half an hour of
#: plant time (0.6 s and 0.3 s of wall time) keep a loaded CI machine's pauses from
#: turning into stale telemetry or expired commands
TIMING = {"heartbeat_wall_s": 0.2, "stale_after_s": 3600.0, "command_ttl_s": 1800.0}


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    server = Mosquitto(tmp_path_factory.mktemp("mosquitto"), auth=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def enterprise():
    return load_site("enterprise")


def controller(broker, mode, influx_url=None, db="dcc", spool=None, speed=SPEED,
               protocol="5", **kw):  # fmt: skip
    influx = None
    if influx_url is not None:
        influx = InfluxConfig(url=influx_url, database=db, spool_path=str(spool))
    timing = ControllerConfig(**TIMING | {"time_scale": speed} | kw)
    link = broker.broker("controller", protocol=protocol)
    cfg = ServiceConfig(site="enterprise", policy=POLICY, mode=mode, controller=timing,
                        broker=link, influx=influx)  # fmt: skip
    c = Controller(cfg).start()
    wait_for(c.link.connected.is_set, 10, "the controller's connection")
    time.sleep(0.1)  # its subscriptions are in place before the plant's first interval
    return c


def plant(broker, spec, days=1.0, speed=SPEED, **kw):
    return VirtualPlant(spec, broker.broker("plant"), speed=speed, days=days, start_day=112, **kw)


def wait_for(cond, timeout_s=20.0, what="condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def influx_pue(server, db):
    rows = server.query('SELECT "pue" FROM "pue" WHERE "window" = \'interval\'', db=db)
    return {r["time"]: r["pue"] for r in rows}


def test_shadow_day_changes_nothing_and_logs_the_plants_own_pue(
    broker, influxd, enterprise, tmp_path
):
    c = controller(broker, "shadow", influxd.url, "shadow", tmp_path / "spool.sqlite")
    p = plant(broker, enterprise)
    p.run()
    assert c.sink.flush(20)
    c.stop()
    bms = {n: float(v) for n, v in zip(NAMES, fixed_vector(enterprise), strict=True)}
    assert len(p.history) == 288
    assert all(h.setpoints == {n: bms[n] for n in h.setpoints} for h in p.history)
    assert c.stats()["commands_sent"] == 0 and not p.acks
    assert c.stats()["steps"] == 288
    # the recommendations were not the plant's setpoints: shadow mode had something to say
    assert any(r.recommended != {n: bms[n] for n in r.recommended} for _, r, _ in c.records)
    for measurement, (tags, fields) in SCHEMA.items():  # what was written is the schema
        rows = influxd.query(f'SHOW FIELD KEYS FROM "{measurement}"', db="shadow")
        assert rows or measurement == "safety_event", measurement  # events may not happen
        assert {r["fieldKey"] for r in rows} <= set(fields), measurement
        tag_rows = influxd.query(f'SHOW TAG KEYS FROM "{measurement}"', db="shadow")
        assert {r["tagKey"] for r in tag_rows} <= set(tags), measurement
        assert all(r["fieldType"] == "float" for r in rows if r["fieldKey"] != "message")
    logged = influx_pue(influxd, "shadow")
    assert set(logged) == {h.ts for h in p.history}
    assert max(abs(logged[h.ts] - h.pue) for h in p.history) < 1e-12


def test_active_day_follows_every_command_and_every_command_is_acknowledged(
    broker,
    influxd,
    enterprise,
    tmp_path,
):
    c = controller(broker, "active", influxd.url, "active", tmp_path / "spool.sqlite")
    p = plant(broker, enterprise)
    p.run()
    assert c.sink.flush(20)
    c.stop()
    stats = c.stats()
    assert stats["steps"] == 288 and stats["rejected_total"] == 0
    assert stats["commands_sent"] == 288
    assert sum(stats["acks"].values()) == stats["commands_sent"]  # every command acknowledged
    assert stats["unacked"] == 0
    assert stats["acks"].get("applied", 0) >= 280  # a few may expire under 6000x jitter
    # the plant ran the commanded setpoints from the interval after each command
    applied = [a["applied"] for a in p.acks if a["status"] in ("applied", "clamped")]
    controlled = [h.setpoints for h in p.history if h.controlled]
    assert len(controlled) >= 280
    assert all(sp in applied for sp in controlled)
    assert len({tuple(sp.values()) for sp in controlled}) > 10  # they moved
    logged = influx_pue(influxd, "active")
    assert max(abs(logged[h.ts] - h.pue) for h in p.history) < 1e-12
    # commands stayed in the envelope: the plant's hottest inlet never above 27 °C
    assert max(h.inlet_max_c for h in p.history) <= enterprise.envelope.recommended_high_c


def _listener(broker, user, topics):
    got: list[tuple[str, bytes]] = []
    link = MqttLink(broker.broker(user), [(t, 1) for t in topics],
                    lambda t, pl: got.append((t, pl))).start()  # fmt: skip
    assert link.connected.wait(5), link.last_error
    time.sleep(0.2)  # the subscription is in place
    return link, got


def test_acl_only_the_controller_commands_and_anonymous_clients_are_refused(broker):
    cmd = msg.topic("enterprise", "cmd/set")
    anonymous = MqttLink(broker.broker(None), [], lambda *a: None).start()
    plant_link, got = _listener(broker, "plant", [cmd])
    intruders = {u: MqttLink(broker.broker(u), [], lambda *a: None).start()
                 for u in ("observer", "operator", "plant")}  # fmt: skip
    ctrl = MqttLink(broker.broker("controller"), [], lambda *a: None).start()
    for link in (*intruders.values(), ctrl):
        assert link.connected.wait(5), link.last_error
    for user, link in intruders.items():
        assert link.publish(cmd, f"from {user}".encode(), qos=1)
    time.sleep(1.0)
    assert got == []  # mosquitto dropped them without a word: checked where it matters
    assert ctrl.publish(cmd, b"from controller", qos=1)
    wait_for(lambda: got, 5, "the controller's command")
    assert [p for _, p in got] == [b"from controller"]
    assert not anonymous.connected.is_set()
    assert "Not authorized" in (anonymous.last_error or "")
    wrong_password = BrokerConfig(port=broker.port, username="controller", password="wrong")
    wrong = MqttLink(wrong_password, [], lambda *a: None).start()
    time.sleep(0.5)
    assert not wrong.connected.is_set()
    for link in (anonymous, wrong, plant_link, ctrl, *intruders.values()):
        link.stop()


def test_mqtt_311_is_selectable_and_carries_the_loop(broker, enterprise):
    """Legacy brokers: the same loop over MQTT 3.1.1 (no message expiry in the broker; the
    payload's expires_ts still protects the plant)."""
    c = controller(broker, "active", protocol="3.1.1")
    assert c.link.config.protocol == "3.1.1"
    plant_broker = dataclasses.replace(broker.broker("plant"), protocol="3.1.1")
    p = VirtualPlant(enterprise, plant_broker, speed=SPEED, days=0.1, start_day=112)
    p.run()
    c.stop()
    assert len(p.history) == 29 and p.counts["applied"] >= 25
    assert sum(c.stats()["acks"].values()) == c.stats()["commands_sent"]


def test_broker_outage_falls_back_reconnects_and_applies_no_stale_command(broker, enterprise):
    c = controller(broker, "active")
    p = plant(broker, enterprise, days=0.5, heartbeat_timeout_s=0.5)
    run = threading.Thread(target=p.run)
    run.start()
    wait_for(lambda: len(p.history) >= 40, what="40 intervals")
    outage_start = p.now_ms()
    broker.stop()
    time.sleep(1.5)
    broker.start()
    wait_for(lambda: c.link.connected.is_set() and p.link.connected.is_set(), 10, "reconnect")
    outage_end = p.now_ms()
    run.join(60)
    c.stop()
    reasons = [r for _, _, r in c.events]
    assert any(r.startswith("broker unreachable") for r in reasons)
    assert any(r.startswith("broker reachable again") for r in reasons)
    assert c.link.stats["connection_losses"] >= 1 and c.link.stats["connects"] >= 2
    assert p.counts["relinquished"] >= 1  # the plant's own setpoints held meanwhile
    after = [h for h in p.history if h.ts > outage_end]
    assert sum(h.controlled for h in after) >= len(after) - 5  # control resumed
    assert all(applied <= expires for applied, _, expires in p.applied)
    # nothing sent before the outage was applied after it
    assert all(sent > outage_start for applied, sent, _ in p.applied if applied > outage_end)


def test_when_telemetry_stops_the_heartbeat_says_at_once_that_the_controller_no_longer_commands(
    broker, enterprise
):
    # periodic heartbeats a minute apart: within the test only an immediate one can come
    c = controller(broker, "active", heartbeat_wall_s=60.0)
    listen, got = _listener(broker, "observer", [msg.topic("enterprise", "status/heartbeat")])
    p = plant(broker, enterprise, days=0.2, heartbeat_timeout_s=120.0)
    p.run()  # 58 intervals, then the plant falls silent
    ended, before = time.monotonic(), len(got)

    def commanding() -> list[bool]:
        return [json.loads(payload)["commanding"] for _, payload in list(got)]

    # silent for stale_after_s (3600 s of plant time, 0.6 s of wall time): fallback, and a
    # heartbeat saying so, long before the next periodic one
    wait_for(lambda: False in commanding()[before:], 10, "a heartbeat saying commanding: false")
    took = time.monotonic() - ended
    c.stop()
    listen.stop()
    assert commanding()[before - 1] is True  # it was commanding when the plant fell silent
    assert sum(h.controlled for h in p.history) >= 40
    assert any(r.startswith("no valid telemetry") for _, _, r in c.events)
    assert took < 5.0


def test_bad_messages_are_refused_counted_and_the_loop_keeps_running(broker, enterprise):
    c = controller(broker, "active")
    p = plant(broker, enterprise, days=0.25)
    run = threading.Thread(target=p.run)
    run.start()
    wait_for(lambda: c.stats()["steps"] >= 10, what="10 steps")
    bad_plant = MqttLink(broker.broker("plant"), [], lambda *a: None).start()
    operator = MqttLink(broker.broker("operator"), [], lambda *a: None).start()
    ctrl = MqttLink(broker.broker("controller"), [], lambda *a: None).start()
    for link in (bad_plant, operator, ctrl):
        assert link.connected.wait(5)
    tel = msg.topic("enterprise", "telemetry")
    now = p.now_ms()
    good = {"v": 1, "ts": now, "seq": 10**9, "site": "enterprise", "src": "virtual-plant",
            "values": {"it_kw": 500.0}}  # fmt: skip
    bad = [
        b"{oops",
        json.dumps({**good, "values": {"it_kw": "lots"}}),
        json.dumps({**good, "values": {"it_kw": -3.0}}),
        # ten stale limits old: stale even when a loaded machine lags the controller's
        # clock seconds of wall time (6000x) behind the plant's
        json.dumps({**good, "ts": now - 36_000_000}),
        json.dumps({**good, "seq": 1, "ts": now - 450_000}),  # a replay: old seq and ts
        json.dumps({**good, "site": "hyperscale"}),
    ]
    before = c.stats()["steps"]
    for payload in bad:
        bad_plant.publish(tel, payload if isinstance(payload, bytes) else payload.encode())
    operator.publish(msg.topic("enterprise", "override"), b'{"v": 1, "kind": "explode"}')
    cmd = msg.topic("enterprise", "cmd/set")
    expired = {"ts": now - 5000, "seq": 10**9, "cmd_id": "late1", "expires_ts": now - 1000,
               "mode": "active", "setpoints": {"chw_supply_c": 12.0}}  # fmt: skip
    ctrl.publish(cmd, msg.encode(expired))
    wait_for(lambda: sum(c.stats()["rejected"].values()) >= 7, 5, "7 rejections")
    wait_for(lambda: c.stats()["steps"] >= before + 10, what="10 more steps")
    rejected = c.stats()["rejected"]
    for code in ("malformed", "type", "range", "stale", "old", "site"):
        assert rejected.get(f"telemetry:{code}", 0) >= 1, (code, rejected)
    assert rejected.get("override:type", 0) + rejected.get("override:range", 0) >= 1
    wait_for(lambda: any(a["cmd_id"] == "late1" for a in p.acks), 5, "the expired ack")
    assert [a["status"] for a in p.acks if a["cmd_id"] == "late1"] == ["expired"]
    # a replayed (duplicate) command: acknowledged as such and not applied
    dup = next(a for a in p.acks if a["status"] == "applied")
    n_applied = len(p.applied)
    again = {"ts": p.now_ms(), "seq": 10**9 + 1, "cmd_id": dup["cmd_id"],
             "expires_ts": p.now_ms() + 600_000, "mode": "active",
             "setpoints": {"chw_supply_c": 12.0}}  # fmt: skip
    ctrl.publish(cmd, msg.encode(again))
    wait_for(lambda: p.counts["duplicate"] >= 1, 5, "the duplicate's ack")
    assert all(a[1] != again["ts"] for a in p.applied[n_applied:])
    # an operator's override takes effect at the next step: back to shadow, no more commands
    override = {"ts": p.now_ms(), "seq": 1, "kind": "mode", "mode": "shadow", "operator": "ops"}
    operator.publish(msg.topic("enterprise", "override"), msg.encode(override))
    wait_for(lambda: c.runtime.mode == "shadow", 5, "the mode override")
    sent, steps = c.stats()["commands_sent"], c.stats()["steps"]
    wait_for(lambda: c.stats()["steps"] >= steps + 5, what="5 steps in shadow mode")
    assert c.stats()["commands_sent"] == sent and c.stats()["overrides"] == 1
    # and the plant knows: the controller's heartbeat says it no longer commands, so the
    # plant's own setpoints apply at once (not only when heartbeats stop)
    assert p.counts["relinquished"] >= 1 and not p.history[-1].controlled
    for link in (bad_plant, operator, ctrl):
        link.stop()
    run.join(60)
    c.stop()


def _write_config(tmp_path, broker, influx_url, spool) -> Path:
    cfg = {
        "site": "enterprise",
        "policy": POLICY,
        "mode": "active",
        "broker": {"port": broker.port, "username": "controller",
                   "password_env": "DCC_TEST_MQTT_PASSWORD"},
        "influx": {"url": influx_url, "database": "restart", "spool_path": str(spool)},
        "controller": TIMING | {"time_scale": 3000.0},
    }  # fmt: skip
    path = tmp_path / "controller.yaml"
    path.write_text(json.dumps(cfg))  # JSON is YAML
    return path


def test_influx_outage_and_a_killed_controller_lose_no_point(
    broker, influxd, enterprise, tmp_path, monkeypatch
):
    spool = tmp_path / "spool.sqlite"
    config = _write_config(tmp_path, broker, influxd.url, spool)
    with pytest.raises(ValueError, match="DCC_TEST_MQTT_PASSWORD is not set"):
        load_config(config)
    env = {**os.environ, "DCC_TEST_MQTT_PASSWORD": PASSWORDS["controller"]}
    monkeypatch.setenv("DCC_TEST_MQTT_PASSWORD", PASSWORDS["controller"])
    assert load_config(config).broker.password == PASSWORDS["controller"]
    argv = [sys.executable, "-m", "cooling.cli", "run", "--config", str(config), "--json",
            "--log-level", "WARNING"]  # fmt: skip

    def start():
        return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)  # fmt: skip

    # every recommendation the first controller publishes names a reading it handled, and
    # goes out only once that reading's points are in the spool
    reco_topic = msg.topic("enterprise", "reco")
    clearer = MqttLink(broker.broker("controller"), [], lambda *a: None).start()
    assert clearer.connected.wait(5), clearer.last_error
    assert clearer.publish(reco_topic, b"", qos=1, retain=True)  # an earlier test's retained one
    time.sleep(0.5)
    clearer.stop()
    reco_link, recos = _listener(broker, "observer", [reco_topic])
    first = start()
    time.sleep(4.0)  # imports (torch) before the plant starts
    p = plant(broker, enterprise, days=0.6, speed=3000.0)
    run = threading.Thread(target=p.run)
    run.start()
    wait_for(lambda: len(p.history) >= 30, what="30 intervals")
    influxd.stop()  # the database goes away ...
    time.sleep(1.0)
    first.send_signal(signal.SIGKILL)  # ... and the controller dies during the outage
    first.wait(10)
    killed_at = p.now_ms()
    time.sleep(0.5)
    reco_link.stop()
    handled = {json.loads(payload)["ts"] for _, payload in recos if payload}
    # the broker published the killed controller's last will: its retained status is offline
    observer, seen = _listener(broker, "observer", [msg.topic("enterprise", "status/controller")])

    # the retained "online" may come first, if the broker has not yet seen the socket close
    def offline():
        return bool(seen) and json.loads(seen[-1][1])["state"] == "offline"

    wait_for(offline, 10, "the last will: status offline")
    observer.stop()
    second = start()
    time.sleep(5.0)
    influxd.start()
    run.join(60)
    second.send_signal(signal.SIGTERM)
    out, _ = second.communicate(timeout=30)
    final = json.loads(out.decode().strip().splitlines()[-1])
    assert final["influx"]["spooled"] == 0 and final["influx"]["dead_letter"] == 0
    logged = influx_pue(influxd, "restart")
    plant_pue = {h.ts: h.pue for h in p.history}
    assert set(logged) <= set(plant_pue)
    assert max(abs(logged[ts] - plant_pue[ts]) for ts in logged) < 1e-12
    # every reading the first controller handled before it died reached InfluxDB
    assert handled <= set(plant_pue) and len(handled) >= 20
    assert all(ts < killed_at for ts in handled)
    assert handled <= set(logged), sorted(handled - set(logged))
    restarted = min(ts for ts in logged if ts > killed_at)
    after = [ts for ts in plant_pue if ts >= restarted]
    assert len(after) > 20 and all(ts in logged for ts in after)
    # each interval once: one row per timestamp in every series
    rows = influxd.query('SELECT count("kw") FROM "power" GROUP BY "subsystem"', db="restart")
    assert {r["count"] for r in rows} == {len(logged)}
