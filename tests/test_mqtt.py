"""The MQTT link against a real mosquitto: TLS, reconnects, and nothing queued while down."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from cooling.io.mqtt import BrokerConfig, MqttLink
from tests.mqtt_server import Mosquitto

pytestmark = pytest.mark.integration


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    """A throwaway CA and a server certificate for 127.0.0.1 (IP SAN), plus a second CA."""
    d = tmp_path_factory.mktemp("tls")
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout",
                 f"{ca}.key", "-out", f"{ca}.crt", "-subj", f"/CN={ca}", cwd=d)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
             "server.csr", "-subj", "/CN=127.0.0.1", cwd=d)  # fmt: skip
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext",
             cwd=d)  # fmt: skip
    return d


def test_tls_with_the_sites_ca_connects_and_an_untrusted_server_is_refused(certs, tmp_path):
    tls = {"cafile": certs / "ca.crt", "certfile": certs / "server.crt",
           "keyfile": certs / "server.key"}  # fmt: skip
    broker = Mosquitto(tmp_path, auth=True, tls=tls)
    try:
        got = []
        good = BrokerConfig(port=broker.port, username="observer", password="ob-secret",
                            tls_ca=str(certs / "ca.crt"))  # fmt: skip
        sub = MqttLink(good, [("dcc/v1/x/telemetry", 1)], lambda t, p: got.append(p)).start()
        pub = MqttLink(broker.broker("plant", tls_ca=str(certs / "ca.crt")), [],
                       lambda *a: None).start()  # fmt: skip
        assert sub.connected.wait(5) and pub.connected.wait(5), (sub.last_error, pub.last_error)
        time.sleep(0.2)
        pub.publish("dcc/v1/x/telemetry", b"over tls")
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
        assert got == [b"over tls"]
        untrusted = MqttLink(broker.broker("plant", tls_ca=str(certs / "other-ca.crt")), [],
                             lambda *a: None).start()  # fmt: skip
        plain = MqttLink(broker.broker("plant"), [], lambda *a: None).start()
        time.sleep(1.0)
        assert not untrusted.connected.is_set() and "CERTIFICATE_VERIFY_FAILED" in (
            untrusted.last_error or ""
        )
        assert not plain.connected.is_set()
        for link in (sub, pub, untrusted, plain):
            link.stop()
    finally:
        broker.stop()


def test_nothing_is_queued_while_disconnected(tmp_path):
    """DEPLOYMENT.md §1: paho queues QoS 1 publishes while down and delivers them late.
    The link drops them instead (and counts them), so no stale command arrives."""
    broker = Mosquitto(tmp_path)
    got = []
    sub = MqttLink(broker.broker(None), [("t/#", 1)], lambda t, p: got.append(p)).start()
    pub = MqttLink(BrokerConfig(port=broker.port, reconnect_min_s=0.1), [],
                   lambda *a: None).start()  # fmt: skip
    assert sub.connected.wait(5) and pub.connected.wait(5)
    time.sleep(0.2)
    broker.stop()
    time.sleep(0.3)
    sent_while_down = [pub.publish("t/cmd", b"stale %d" % i) for i in range(20)]
    broker.start()
    for link in (sub, pub):
        assert link.connected.wait(10), link.last_error
    time.sleep(0.2)
    assert pub.publish("t/cmd", b"fresh")
    deadline = time.monotonic() + 5
    while b"fresh" not in got and time.monotonic() < deadline:
        time.sleep(0.02)
    assert got == [b"fresh"]
    assert not any(sent_while_down) and pub.stats["dropped"] >= 20
    assert pub.stats["connects"] == 2 and pub.stats["connection_losses"] == 1
    for link in (sub, pub):
        link.stop()
    broker.stop()


def test_bad_broker_settings_are_refused_with_the_key():
    with pytest.raises(ValueError, match=re.escape("protocol '4'; allowed: 5, 3.1.1")):
        BrokerConfig(protocol="4")
    with pytest.raises(ValueError, match=re.escape("port must be in 1..65535")):
        BrokerConfig(port=70000)
    with pytest.raises(ValueError, match=re.escape("tls_ca: /nonexistent.crt not found")):
        BrokerConfig(tls_ca="/nonexistent.crt")
