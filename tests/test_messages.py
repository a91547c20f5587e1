"""Wire messages: every bad payload is refused with a code and a reason, never a crash."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cooling.io import messages as msg
from cooling.service import readings_of

NOW = 1_800_000_000_000
READINGS = frozenset({"it_kw", "supply_air_c", "zone0_inlet_max_c", "economizer_set"})
RANGES = {"chw_supply_c": (5.0, 18.0), "economizer": (0.0, 1.0)}


def telemetry(**over):
    d = {"v": 1, "ts": NOW - 1000, "seq": 5, "site": "enterprise",
         "values": {"it_kw": 800.0, "supply_air_c": 18.0}}  # fmt: skip
    d.update(over)
    return json.dumps(d)


def parse_t(payload):
    return msg.parse_telemetry(payload, "enterprise", READINGS, NOW, 600_000)


def test_good_telemetry_parses_with_quality_and_nulls():
    t = parse_t(telemetry(values={"it_kw": 800, "supply_air_c": None, "zone0_inlet_max_c": 25.0},
                          quality={"zone0_inlet_max_c": "bad"}))  # fmt: skip
    assert t.values["it_kw"] == 800.0 and isinstance(t.values["it_kw"], float)
    assert math.isnan(t.values["supply_air_c"])  # null: missing
    assert math.isnan(t.values["zone0_inlet_max_c"])  # its source doubts it: missing


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"{not json", "malformed"),
        (b"\xff\xfe", "malformed"),
        ("[1, 2]", "malformed"),
        (telemetry(v=2), "version"),
        (telemetry(ts="yesterday"), "type"),
        (telemetry(ts=NOW - 3_600_000), "stale"),
        (telemetry(ts=NOW + 3_600_000), "future"),
        (telemetry(seq=-1), "range"),
        (telemetry(seq=True), "type"),
        (telemetry(site="hyperscale"), "site"),
        (telemetry(values={"it_kw": "800"}), "type"),
        (telemetry(values={"it_kw": True}), "type"),
        (telemetry(values={"it_kw": -5.0}), "range"),
        (telemetry(values={"supply_air_c": 900.0}), "range"),
        (telemetry(values={"economizer_set": 3.0}), "range"),
        (telemetry(values={"banana_c": 20.0}), "unknown"),
        (telemetry(values={}), "type"),
        (
            '{"v": 1, "ts": 1, "seq": 1, "site": "enterprise", "values": {"it_kw": NaN}}',
            "malformed",
        ),
        (b"{" + b" " * (70 * 1024) + b"}", "too_large"),
        ('{"v": 1, "values": ' + "[" * 20_000 + "]" * 20_000 + "}", "malformed"),
    ],
)
def test_bad_telemetry_is_refused_with_a_code_and_a_reason(payload, code):
    with pytest.raises(msg.MessageError) as err:
        parse_t(payload)
    assert err.value.code == code
    assert str(err.value)  # a sentence for the log


def command(**over):
    d = {"v": 1, "ts": NOW, "seq": 1, "cmd_id": "abc123", "expires_ts": NOW + 300_000,
         "mode": "active", "setpoints": {"chw_supply_c": 10.0}}  # fmt: skip
    d.update(over)
    return json.dumps(d)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (command(ts=NOW - 10_000, expires_ts=NOW - 1), "expired"),
        (command(expires_ts=NOW - 1), "range"),  # expires before it was sent
        (command(expires_ts=NOW + 10**12), "range"),  # valid for 31 years
        (command(mode="shadow"), "mode"),
        (command(mode="yolo"), "range"),
        (command(setpoints={"chw_supply_c": 30.0}), "range"),
        (command(setpoints={"supply_air_c": 20.0}), "unknown"),
        (command(setpoints={"chw_supply_c": "cold"}), "type"),
        (command(cmd_id="../../etc"), "range"),
        (command(cmd_id=5), "type"),
    ],
)
def test_bad_commands_are_refused(payload, code):
    with pytest.raises(msg.MessageError) as err:
        msg.parse_command(payload, RANGES, NOW)
    assert err.value.code == code


def test_a_good_command_round_trips_through_encode():
    c = msg.parse_command(command(), RANGES, NOW)
    again = msg.parse_command(msg.encode(c), RANGES, NOW)
    assert again == c


def test_seq_tracker_refuses_duplicates_and_old_and_accepts_a_restarted_publisher():
    seqs = msg.SeqTracker()
    seqs.check("plant", 10, 1000)
    with pytest.raises(msg.MessageError, match="duplicate") as err:
        seqs.check("plant", 10, 1000)
    assert err.value.code == "duplicate"
    with pytest.raises(msg.MessageError) as err:
        seqs.check("plant", 9, 900)
    assert err.value.code == "old"
    with pytest.raises(msg.MessageError) as err:
        seqs.check("plant", 11, 999)  # newer seq, older time: a replay
    assert err.value.code == "old"
    seqs.check("plant", 1, 2000)  # seq restarted, time moved on: a restarted publisher
    seqs.check("other", 1, 10)  # publishers are tracked separately
    with pytest.raises(msg.MessageError) as err:
        seqs.check("bad id with spaces", 1, 10)
    assert err.value.code == "range"
    for i in range(msg.MAX_PUBLISHERS - 2):
        seqs.check(f"p{i}", 1, 10)
    with pytest.raises(msg.MessageError) as err:  # an attacker rotating ids cannot grow it
        seqs.check("one-too-many", 1, 10)
    assert err.value.code == "publishers"


def test_overrides_parse_and_unknown_kinds_are_refused():
    ok = json.dumps({"v": 1, "ts": NOW, "seq": 1, "kind": "mode", "mode": "shadow",
                     "operator": "alice"})  # fmt: skip
    o = msg.parse_override(ok, NOW, 60_000)
    assert (o.kind, o.mode, o.operator) == ("mode", "shadow", "alice")
    for bad, code in (({"kind": "explode"}, "range"), ({"kind": "mode", "mode": "x"}, "range")):
        with pytest.raises(msg.MessageError) as err:
            msg.parse_override(json.dumps({"v": 1, "ts": NOW, "seq": 1, **bad}), NOW, 60_000)
        assert err.value.code == code


def test_site_readings_all_have_a_unit_range(site):
    names = readings_of(site)
    assert "it_kw" in names and "zone0_inlet_max_c" in names and "chw_supply_c_set" in names
    assert f"zone{len(site.zones)}_inlet_max_c" not in names
    assert all(msg.unit_range(n) is not None for n in names)


def test_topic_refuses_a_site_id_that_would_break_the_topic_tree():
    assert msg.topic("enterprise", "telemetry") == "dcc/v1/enterprise/telemetry"
    for bad in ("a/b", "+", "#", "", "Big"):
        with pytest.raises(ValueError, match="site id"):
            msg.topic(bad, "telemetry")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda x: json.dumps(x).encode()),
        st.dictionaries(
            st.sampled_from(["v", "ts", "seq", "site", "values", "quality", "src", "cmd_id",
                             "expires_ts", "mode", "setpoints", "kind", "status", "applied"]),
            json_values, max_size=8,
        ).map(lambda d: json.dumps({"v": 1, **d}).encode()),
    )
)  # fmt: skip
def test_fuzzed_payloads_never_raise_anything_but_message_error(payload):
    """Any bytes: either a valid message or a MessageError; never another exception."""
    for parse in (
        parse_t,
        lambda p: msg.parse_command(p, RANGES, NOW),
        lambda p: msg.parse_ack(p, NOW),
        lambda p: msg.parse_override(p, NOW, 60_000),
    ):
        try:
            out = parse(payload)
        except msg.MessageError as err:
            assert err.code and str(err)
        else:
            assert out.ts <= NOW + msg.MAX_FUTURE_MS
