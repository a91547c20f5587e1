"""A real mosquitto for tests: free loopback port, temporary directory, stopped by PID.

``Mosquitto(tmp, auth=True)`` uses the shipped ``hil/mosquitto`` configuration (password
file and ACL) with a generated password for each user in :data:`PASSWORDS`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.influx_server import binary, free_port

ROOT = Path(__file__).resolve().parents[1]
HIL = ROOT / "hil" / "mosquitto"
PASSWORDS = {"controller": "c-secret", "plant": "p-secret", "operator": "o-secret",
             "observer": "ob-secret"}  # fmt: skip


class Mosquitto:
    def __init__(self, tmp: Path, auth: bool = False, port: int | None = None,
                 tls: dict[str, Path] | None = None):  # fmt: skip
        exe = binary("mosquitto")
        if exe is None:
            pytest.skip("mosquitto is not installed (bash scripts/test.sh installs it as root)")
        self.exe = exe
        self.tmp = Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.auth = auth
        lines = [f"listener {self.port} 127.0.0.1", "persistence false",
                 *(f"{k} {v}" for k, v in (tls or {}).items()),
                 "max_queued_messages 100000", "set_tcp_nodelay true",
                 "log_dest stderr"]  # fmt: skip
        if os.geteuid() == 0:  # root: mosquitto would drop to user mosquitto, who cannot
            lines.append("user root")  # read the test's private temporary directory
        if auth:
            shutil.copy(HIL / "acl", self.tmp / "acl")
            passwd = self.tmp / "passwd"
            passwd.touch()
            for user, pw in PASSWORDS.items():
                exe = binary("mosquitto_passwd") or "mosquitto_passwd"
                subprocess.run([exe, "-b", str(passwd), user, pw], check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {passwd}",
                      f"acl_file {self.tmp / 'acl'}"]  # fmt: skip
        else:
            lines.append("allow_anonymous true")
        self.conf = self.tmp / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        log = open(self.tmp / "mosquitto.log", "ab")
        self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    log = (self.tmp / "mosquitto.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"mosquitto exited: {log}") from None
                time.sleep(0.02)
        raise RuntimeError("mosquitto did not open its port within 10 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def broker(self, user: str | None = None, **kw):
        from cooling.io.mqtt import BrokerConfig

        if user is None:
            return BrokerConfig(port=self.port, **kw)
        return BrokerConfig(port=self.port, username=user, password=PASSWORDS[user], **kw)
