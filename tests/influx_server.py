"""Real servers for the InfluxDB tests: free loopback ports, temporary directories, stopped
by PID. Fixtures ``influxd`` (Debian's influxd 1.x) and ``victoria_metrics`` (only the
wire format of ``/api/v2/write``; it is not InfluxDB); each skips if its binary is absent.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
VM_CACHE = ROOT / ".cache" / "victoria-metrics" / "usr" / "bin"


def binary(name: str, *extra_dirs: Path) -> str | None:
    """``name`` on PATH, in /usr/bin, /usr/sbin or one of ``extra_dirs``; None if nowhere."""
    found = shutil.which(name)
    if found:
        return found
    for d in (Path("/usr/bin"), Path("/usr/sbin"), *extra_dirs):
        if (d / name).is_file():
            return str(d / name)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: bytes | None = None, timeout: float = 5.0) -> tuple[int, str]:
    """``(status, body)``; HTTP errors are answers too."""
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


class _Server:
    """A subprocess with a readiness check; ``stop`` kills it by PID (no clean shutdown)."""

    name = "server"

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"{self.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def argv(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if self.ready():
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {tail}")
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer on {self.url} within 20 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


class Influxd(_Server):
    """influxd 1.x with its meta, data and WAL under ``tmp``; restarts keep the data.

    ``auth=True``: authentication on, with an admin user ``admin``/:attr:`ADMIN_PASSWORD`
    that :meth:`query` and :meth:`write` use.
    """

    name = "influxd"
    ADMIN_PASSWORD = "admin-secret"

    def __init__(self, tmp: Path, exe: str, auth: bool = False) -> None:
        super().__init__(tmp)
        self.exe = exe
        self.auth = auth
        self._admin = False
        self.conf = tmp / "influxd.conf"
        # Debian's 1.6.7 spells it reporting-enabled, upstream reporting-disabled: both
        self.conf.write_text(
            f"""reporting-enabled = false
reporting-disabled = true
bind-address = "127.0.0.1:{free_port()}"
[meta]
  dir = "{tmp / "meta"}"
  logging-enabled = false
[data]
  dir = "{tmp / "data"}"
  wal-dir = "{tmp / "wal"}"
  wal-fsync-delay = "0s"
  query-log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
[http]
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
  auth-enabled = {str(auth).lower()}
"""
        )

    def start(self) -> None:
        super().start()
        if self.auth and not self._admin:  # allowed while there is no user yet
            q = f"CREATE USER admin WITH PASSWORD '{self.ADMIN_PASSWORD}' WITH ALL PRIVILEGES"
            self.query(q)
            self._admin = True

    def _params(self, **params: str) -> str:
        if self._admin:
            params.update(u="admin", p=self.ADMIN_PASSWORD)
        return urllib.parse.urlencode(params)

    def argv(self) -> list[str]:
        return [self.exe, "-config", str(self.conf)]

    def ready(self) -> bool:
        return http("GET", f"{self.url}/ping", timeout=0.5)[0] == 204

    def write(self, db: str, lines: list[str]) -> tuple[int, str]:
        """POST lines to /write (ms precision) directly, bypassing the sink."""
        q = self._params(db=db, precision="ms")
        return http("POST", f"{self.url}/write?{q}", "\n".join(lines).encode())

    def query(self, q: str, db: str = "") -> list[dict[str, Any]]:
        """InfluxQL rows as dicts (columns plus the series' tags), times in ms."""
        params = self._params(q=q, db=db, epoch="ms")
        status, text = http("POST", f"{self.url}/query?{params}")
        data = json.loads(text)
        if status != 200 or "error" in data:
            raise RuntimeError(f"influxd query {q!r}: {status} {text}")
        rows: list[dict[str, Any]] = []
        for result in data["results"]:
            if "error" in result:
                raise RuntimeError(f"influxd query {q!r}: {result['error']}")
            for series in result.get("series", []):
                tags = series.get("tags", {})
                rows += [{**tags, **dict(zip(series["columns"], v, strict=True))}
                         for v in series["values"]]  # fmt: skip
        return rows


class VictoriaMetrics(_Server):
    """victoria-metrics single node; not InfluxDB (DEPLOYMENT.md §4)."""

    name = "victoria-metrics"

    def __init__(self, tmp: Path, exe: str) -> None:
        super().__init__(tmp)
        self.exe = exe

    def argv(self) -> list[str]:
        return [self.exe, f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-storageDataPath={self.tmp / 'data'}", "-search.latencyOffset=0s",
                "-retentionPeriod=100y"]  # fmt: skip

    def ready(self) -> bool:
        return http("GET", f"{self.url}/health", timeout=0.5)[0] == 200

    def export(self, match: str) -> list[dict[str, Any]]:
        """``/api/v1/export`` JSON lines for a series selector, after a forced flush."""
        http("GET", f"{self.url}/internal/force_flush")
        q = urllib.parse.urlencode({"match[]": match})
        status, text = http("GET", f"{self.url}/api/v1/export?{q}")
        if status != 200:
            raise RuntimeError(f"victoria-metrics export {match!r}: {status} {text}")
        return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influxd]:
    exe = binary("influxd")
    if exe is None:
        pytest.skip("influxd is not installed (bash scripts/test.sh installs it as root)")
    server = Influxd(tmp_path_factory.mktemp("influxd"), exe)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def victoria_metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    exe = binary("victoria-metrics", VM_CACHE)
    if exe is None:
        pytest.skip(
            "victoria-metrics not found on PATH, /usr/bin or .cache/victoria-metrics "
            "(bash scripts/test.sh unpacks it there as root)"
        )
    server = VictoriaMetrics(tmp_path_factory.mktemp("vm"), exe)
    server.start()
    yield server
    server.stop()
