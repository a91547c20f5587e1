#!/usr/bin/env bash
# Set up everything and run the whole test suite (the README's second command; CI runs it).
#
#   bash scripts/test.sh [pytest args...]
#
# Installs Debian's mosquitto and influxdb with apt-get when they are missing and this
# runs as root, creates .venv/ at the repository root, installs the package with its dev
# extra, then runs ruff, the import-layering contracts, mypy and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v influxd >/dev/null 2>&1 || [ -x /usr/bin/influxd ] || missing+=(influxdb)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing ${missing[*]} (apt-get)"
    # keep the packages' postinst from starting system services (tests start their own
    # servers on free ports; DEPLOYMENT.md): policy-rc.d answering 101 = "not allowed"
    added_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
      added_policy=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ "$added_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  else
    echo "== warning: ${missing[*]} not installed and not root: integration tests will skip"
  fi
fi

# victoria-metrics is only for the v2 wire-format smoke test (tests/test_influx.py). Unpack it
# (apt-get download + dpkg -x into .cache/), never install it: its postinst starts a service.
vm_cache=.cache/victoria-metrics
if ! command -v victoria-metrics >/dev/null 2>&1 && [ ! -x /usr/bin/victoria-metrics ] \
    && [ ! -x "$vm_cache/usr/bin/victoria-metrics" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== unpacking victoria-metrics into $vm_cache (apt-get download, dpkg -x)"
    mkdir -p "$vm_cache"
    fetch() { (cd "$vm_cache" && apt-get download -qq victoria-metrics >/dev/null 2>&1 \
        && dpkg -x victoria-metrics_*.deb . && rm -f victoria-metrics_*.deb); }
    if ! fetch && ! (apt-get update -qq && fetch); then
      echo "== warning: could not unpack victoria-metrics: its smoke test will skip"
    fi
  else
    echo "== warning: victoria-metrics absent and not root: its smoke test will skip"
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  python3 -m venv .venv
fi
echo "== installing dc-cooling and its test tools into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 \
  | grep -v "is ignored: it is neither a file nor a directory" || true
.venv/bin/python -c "import cooling, numba, torch" >/dev/null

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== import layering"
.venv/bin/lint-imports --no-cache
echo "== mypy (strict: plant, control, io)"
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/pytest --durations=10 "$@"  # the ten slowest: the suite must stay under 15 min
