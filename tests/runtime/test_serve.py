"""vmf-serve: a web export served with cross-origin isolation, the right types, no listings.

The folder served is a web export's layout made here (a real card, placeholder files),
so these tests need neither the exporter nor a browser; requests go through http.client
to a server on a free port, in a thread, or to ``vmf-serve`` itself in a subprocess.
"""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from vmf.contract import web_layout as site
from vmf.contract.card import make_card
from vmf.runtime.serve import main, make_server, tls_context

ISOLATION = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}
FILES = {  # path in the site -> Content-Type it must be served with
    "index.html": "text/html; charset=utf-8",
    "app/main.js": "text/javascript",
    "app/core/card.mjs": "text/javascript",
    "app/style.css": "text/css",
    "ort/ort-wasm-simd-threaded.wasm": "application/wasm",
    "ort/ort.wasm.min.mjs": "text/javascript",
    "model/model.onnx": "application/octet-stream",
    "model/parity.bin": "application/octet-stream",
    "model/parity.json": "application/json",
    "model/card.json": "application/json",
}


def card(target: str = "web") -> dict:
    return make_card(
        variant="560M",
        baseline=False,
        frames=8,
        resolution=32,
        temporal_stride=8,
        input_name="clip",
        layout="TCHW",
        labels=["a", "b"],
        precision="fp32",
        converter="torch.onnx",
        weights_sha256=None,
        untrained=True,
        parity=None,
        macs=None,
        params=None,
        versions={"onnxruntime-web": "1.23.4"},
        target=target,
        providers=["wasm"],
    )


def make_site(folder: Path, target: str = "web") -> Path:
    for name in FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(f"contents of {name}".encode())
    (folder / site.CARD_FILE).write_text(json.dumps(card(target)))
    return folder


@pytest.fixture
def export_dir(tmp_path) -> Path:
    return make_site(tmp_path / "vmf-560m_t8_r32_fp32.web")


class Running:
    """A server in a thread for the test's duration."""

    def __init__(self, server):
        self.server = server
        self.port = server.server_address[1]
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)
        self.thread.start()

    def get(self, path: str, context: ssl.SSLContext | None = None):
        if context is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        else:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=30, context=context)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=30)


@pytest.fixture
def serving(export_dir):
    running = Running(make_server(export_dir, "127.0.0.1", 0))
    yield running
    running.stop()


def test_every_file_has_its_type_and_the_isolation_headers(serving, export_dir, capsys):
    for name, content_type in FILES.items():
        status, headers, body = serving.get(f"/{name}")
        assert status == 200, name
        assert headers["Content-type"] == content_type, name
        assert {k: headers[k] for k in ISOLATION} == ISOLATION, name
        assert body == (export_dir / name).read_bytes(), name
    status, headers, body = serving.get("/")
    assert status == 200 and body == (export_dir / "index.html").read_bytes()
    assert headers["Content-type"] == "text/html; charset=utf-8"
    assert capsys.readouterr().err == ""  # quiet by default: no line per request


def test_missing_files_are_404_and_folders_are_never_listed(serving):
    status, headers, _ = serving.get("/model/nothing.onnx")
    assert status == 404 and headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    status, _, body = serving.get("/model/")
    assert status == 404 and b"card.json" not in body and b"model.onnx" not in body
    status, headers, _ = serving.get("/model")
    assert status == 301 and headers["Location"] == "/model/"
    status, _, body = serving.get("/ort/")
    assert status == 404 and b".wasm" not in body


def test_verbose_logs_one_line_per_request(export_dir, capsys):
    running = Running(make_server(export_dir, "127.0.0.1", 0, verbose=True))
    try:
        running.get("/index.html")
        running.get("/missing.js")
    finally:
        running.stop()
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) >= 2 and "GET /index.html" in lines[0] and any("/missing.js" in x for x in lines)


def test_https_wraps_every_connection(export_dir, tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    running = Running(make_server(export_dir, "127.0.0.1", 0, tls=tls_context(cert, key)))
    try:
        client = ssl.create_default_context(cafile=str(cert))  # verifies the server's certificate
        status, headers, body = running.get("/ort/ort-wasm-simd-threaded.wasm", context=client)
        assert status == 200 and headers["Content-type"] == "application/wasm"
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
        with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
            running.get("/index.html")  # plain HTTP to the TLS port gets no page
        assert running.get("/index.html", context=client)[0] == 200  # and the server carries on
    finally:
        running.stop()


# -- the command line -------------------------------------------------------------------------
def one_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_refuses_a_missing_folder_and_a_folder_that_is_not_a_web_export(tmp_path, capsys):
    assert main([str(tmp_path / "missing")]) == 1
    assert "no such folder" in one_error(capsys)
    assert main([str(tmp_path)]) == 1
    assert f"is not a web export (no {site.CARD_FILE}; make one with vmf-export --target web)" in one_error(
        capsys
    )
    other = make_site(tmp_path / "onnx-card", target="onnx")
    assert main([str(other)]) == 1
    assert "is a 'onnx' card" in one_error(capsys)


def test_a_busy_port_is_one_line(export_dir, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main([str(export_dir), "--port", str(port)]) == 1
    assert f"port {port} on 127.0.0.1 is in use; choose another with --port" in one_error(capsys)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--port", "http"], "--port 'http' is not a number"),
        (["--port", "70000"], "--port 70000 is not between 0 and 65535"),
        (["--https", "cert.pem"], "expected 2 arguments"),
        ([], "the following arguments are required: DIR"),
    ],
)
def test_a_bad_command_line_exits_2(export_dir, capsys, argv, expected):
    args = argv if not argv else [str(export_dir), *argv]
    assert main(args) == 2
    line = one_error(capsys)
    assert expected in line and line.endswith("(see vmf-serve --help)")


def test_https_with_a_missing_or_bad_certificate_is_one_line(export_dir, tmp_path, capsys):
    assert main([str(export_dir), "--https", str(tmp_path / "c.pem"), str(tmp_path / "k.pem")]) == 1
    assert "--https: no such file" in one_error(capsys)
    (tmp_path / "c.pem").write_text("not a certificate")
    (tmp_path / "k.pem").write_text("not a key")
    assert main([str(export_dir), "--https", str(tmp_path / "c.pem"), str(tmp_path / "k.pem")]) == 1
    assert "--https: cannot load" in one_error(capsys)


@pytest.mark.parametrize("host, warned", [("127.0.0.1", False), ("0.0.0.0", True)])
def test_vmf_serve_prints_its_url_warns_off_loopback_and_stops_on_ctrl_c(export_dir, host, warned):
    server = subprocess.Popen(
        [sys.executable, "-m", "vmf.runtime.serve", str(export_dir), "--port", "0", "--host", host],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = server.stdout.readline()
        assert first.startswith(f"serving {export_dir} at http://") and first.rstrip().endswith(
            "(Ctrl-C stops)"
        )
        port = int(first.split(" at ")[1].split()[0].rstrip("/").rsplit(":", 1)[1])
        if host == "127.0.0.1":
            assert f"http://127.0.0.1:{port}/" in first
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/model/card.json")
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["target"] == "web"
        conn.close()
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == 130 and out.strip() == "stopped" and "Traceback" not in err
    warnings = [line for line in err.splitlines() if line.strip()]
    if warned:  # one line: phones need HTTPS for the camera and threads
        assert len(warnings) == 1 and warnings[0].startswith("warning: ") and "--https" in warnings[0]
    else:
        assert warnings == []
