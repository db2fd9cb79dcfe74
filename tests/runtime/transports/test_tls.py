"""TLS on both transports, with a certificate made for the test (no network)."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess

import pytest
from websockets.sync.client import connect

from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.testing import ServerThread
from cadenza.sdk import CadenzaError, Client

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_grpc_and_websocket_over_tls(certificate):
    cert, key = certificate
    options = ServeOptions(grpc_port=0, ws_port=0, tls_cert=cert, tls_key=key, token="t")
    with ServerThread(options) as server:
        with Client(server.grpc_address, token="t", tls=True,
                    root_certificates=cert.read_bytes()) as client:
            session = client.create_session(scene="minimal")
            assert len(list(session.stream(seconds=0.5))) >= 10
            session.close()
        with Client(server.grpc_address, token="t", timeout=2) as plain, \
                pytest.raises(CadenzaError) as info:
            plain.sessions()  # a plaintext client cannot talk to a TLS server
        assert info.value.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED")
        context = ssl.create_default_context(cafile=str(cert))
        url = f"wss://127.0.0.1:{server.ws_port}/v1/stream?token=t"
        with connect(url, ssl=context) as ws:
            ws.send(json.dumps({"type": "create", "scene": "minimal"}))
            assert json.loads(ws.recv(5))["type"] == "session"
            assert isinstance(ws.recv(5), (bytes, str))
