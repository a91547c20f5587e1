#!/usr/bin/env bash
# The whole loop on one machine: a mosquitto with the shipped ACL on a free port, the
# virtual plant (6 simulated hours at 2000x real time) and the controller, in shadow mode
# (default) or active mode. Needs the package installed in .venv (README) and mosquitto.
#
#   bash hil/loop-demo.sh [shadow|active]
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-shadow}
case "$mode" in shadow|active) ;; *) echo "usage: $0 [shadow|active]" >&2; exit 2;; esac
cmd=$([ "$mode" = active ] && echo run || echo shadow)
mosquitto=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[ -x "$mosquitto" ] || { echo "mosquitto is not installed (apt-get install mosquitto)" >&2; exit 2; }

tmp=$(mktemp -d)
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
pids=()
trap cleanup EXIT
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DCC_MQTT_PASSWORD=demo-controller DCC_PLANT_PASSWORD=demo-plant
mosquitto_passwd -c -b "$tmp/passwd" controller "$DCC_MQTT_PASSWORD"
mosquitto_passwd -b "$tmp/passwd" plant "$DCC_PLANT_PASSWORD"
cp hil/mosquitto/acl "$tmp/acl"
{
  echo "listener $port 127.0.0.1"
  echo "allow_anonymous false"; echo "password_file $tmp/passwd"; echo "acl_file $tmp/acl"
  echo "persistence false"; echo "max_queued_messages 100000"; echo "set_tcp_nodelay true"
  [ "$(id -u)" = 0 ] && echo "user root"
} > "$tmp/mosquitto.conf"
"$mosquitto" -c "$tmp/mosquitto.conf" 2> "$tmp/mosquitto.log" & pids+=($!)
sleep 0.3

cat > "$tmp/controller.yaml" <<YAML
site: enterprise
policy: $PWD/agents/enterprise-ppo-gamma95-seed1/policy.zip
broker: {port: $port, username: controller, password_env: DCC_MQTT_PASSWORD}
controller: {time_scale: 2000, heartbeat_wall_s: 1.0}
YAML
echo "== controller ($mode mode) and virtual plant on 127.0.0.1:$port"
.venv/bin/cooling "$cmd" --config "$tmp/controller.yaml" --json --log-level WARNING \
  > "$tmp/controller.json" & ctrl=$!; pids+=($ctrl)
sleep 3  # the controller loads torch and the policy
.venv/bin/cooling virtual-plant --site enterprise --broker "127.0.0.1:$port" --username plant \
  --password-env DCC_PLANT_PASSWORD --speed 2000 --days 0.25 --start 112 --json > "$tmp/plant.json"
kill -TERM "$ctrl"; wait "$ctrl" || true
.venv/bin/python - "$tmp/plant.json" "$tmp/controller.json" <<'PY'
import json, sys
plant, ctrl = (json.loads(open(p).read().strip().splitlines()[-1]) for p in sys.argv[1:])
print(f"plant: {plant['intervals']} intervals, mean PUE {plant['pue']:.3f}, mean facility "
      f"power {plant['facility_kw_mean']:,.1f} kW, hottest inlet "
      f"{plant['max_inlet_c']:.1f} °C, commands {plant['commands'] or 'none'}, "
      f"controlled intervals {plant['controlled_intervals']}")
print(f"controller: {ctrl['steps']} steps, {ctrl['commands_sent']} commands sent, acks "
      f"{ctrl['acks'] or 'none'}, rejected messages {ctrl['rejected_total']}")
saved = ctrl["predicted_savings_kw_mean"]
if saved is not None:
    print(f"controller: following its recommendations was predicted to save {saved:.1f} kW "
          "on average (against the setpoints in force)")
PY
