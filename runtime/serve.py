"""``vmf-serve``: serve a web export (``vmf-export --target web``) the way its page needs.

    vmf-serve exports/web/vmf-560m_fp32.web                 # http://127.0.0.1:8000/
    vmf-serve DIR --host 0.0.0.0 --https cert.pem key.pem   # for a phone on the LAN

Every response carries the cross-origin isolation headers (COOP, COEP, CORP:
``vmf.contract.web_layout.ISOLATION_HEADERS``), without which the browser gives
the page no ``SharedArrayBuffer`` and ONNX Runtime Web no threads; files go out
with the types the page needs (``.wasm`` as ``application/wasm``, ``.mjs`` as
JavaScript). Folders are never listed. It binds the loopback address unless
told otherwise: a phone needs HTTPS for the camera and for threads (a secure
context), hence ``--https`` (docs/web.md says how to make a certificate).
Standard library only, so it starts at once and runs where vmf's model
packages are not installed.
"""

from __future__ import annotations

import argparse
import errno
import functools
import http.server
import ipaddress
import socket
import socketserver
import ssl
import sys
from pathlib import Path

from vmf.contract import web_layout as site
from vmf.contract.errors import VmfError
from vmf.model.cli import Parser, run_main
from vmf.model.files import Terminated, terminate_cleanly

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
HANDSHAKE_TIMEOUT_S = 30  # a client that opens a connection and says nothing is dropped


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with the isolation headers and the page's types; no listings, quiet."""

    server_version = "vmf-serve"
    protocol_version = "HTTP/1.1"  # keep-alive: the page fetches a dozen files at once
    timeout = HANDSHAKE_TIMEOUT_S

    def end_headers(self) -> None:
        for name, value in site.ISOLATION_HEADERS:
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-cache")  # a new export is seen at the next load
        super().end_headers()

    def guess_type(self, path) -> str:
        return site.content_type(path)

    def list_directory(self, path):
        self.send_error(404, "Not found")  # a folder without index.html is not a page
        return None

    def log_message(self, format: str, *args) -> None:
        if self.server.verbose:
            print(f"{self.address_string()} {format % args}", file=sys.stderr, flush=True)


class WebServer(http.server.ThreadingHTTPServer):
    """A threading HTTP server for one web export folder, TLS per connection when given."""

    daemon_threads = True

    def __init__(self, address, handler, *, family: int, tls: ssl.SSLContext | None, verbose: bool):
        self.address_family = family
        self.tls, self.verbose = tls, verbose
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host's name up in DNS, which can stall offline.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def finish_request(self, request, client_address) -> None:
        if self.tls is None:
            return super().finish_request(request, client_address)
        # The handshake runs here, in the connection's own thread, not in the accept loop.
        request.settimeout(HANDSHAKE_TIMEOUT_S)
        connection = self.tls.wrap_socket(request, server_side=True)
        try:
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            connection.close()

    def handle_error(self, request, client_address) -> None:
        # A browser that drops a connection or refuses a self-signed certificate is routine.
        if self.verbose:
            error = sys.exc_info()[1]
            print(f"{client_address[0]} connection ended: {error!r}", file=sys.stderr, flush=True)


def tls_context(cert: "str | Path", key: "str | Path") -> ssl.SSLContext:
    """A server TLS context from a PEM certificate and key; one clear error if they do not load."""
    for path in (cert, key):
        if not Path(path).is_file():
            raise VmfError(f"--https: no such file {path}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(str(cert), str(key))
    except (ssl.SSLError, OSError) as exc:
        raise VmfError(f"--https: cannot load {cert} with {key} ({exc})") from None
    return context


def make_server(
    folder: "str | Path",
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    tls: ssl.SSLContext | None = None,
    verbose: bool = False,
) -> WebServer:
    """A server for the web export ``folder`` bound to ``host:port`` (0: any free port), not started."""
    folder = Path(folder)
    site.read_site_card(folder)  # a folder that is not a web export is refused here
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror:
        raise VmfError(f"--host {host}: no such address on this machine") from None
    handler = functools.partial(_Handler, directory=str(folder))
    try:
        return WebServer((host, port), handler, family=family, tls=tls, verbose=verbose)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise VmfError(f"port {port} on {host} is in use; choose another with --port") from None
        raise VmfError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


def _lan_address() -> str:
    """This machine's address on its default route (no packet is sent), for the URL to type."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the outgoing interface
        return probe.getsockname()[0]
    except OSError:
        return socket.gethostname()
    finally:
        probe.close()


def url_of(server: WebServer) -> str:
    host, port = server.server_address[:2]
    wildcard = host in ("0.0.0.0", "::")
    shown = _lan_address() if wildcard else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"{'https' if server.tls else 'http'}://{shown}:{port}/"


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--port {value!r} is not a number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"--port {port} is not between 0 and 65535")
    return port


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="vmf-serve",
        description="Serve a web export (vmf-export --target web) with the cross-origin isolation "
        "headers its page needs for WASM threads (docs/web.md).",
    )
    p.add_argument("dir", metavar="DIR", help="the web export folder (exports/web/<model>.web)")
    p.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free one)"
    )
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}, this machine only; "
        "0.0.0.0 for a phone on the LAN, with --https)",
    )
    p.add_argument(
        "--https",
        nargs=2,
        metavar=("CERT", "KEY"),
        help="serve HTTPS with this PEM certificate and key: phones give the camera and threads "
        "to secure pages only (docs/web.md makes a self-signed pair with openssl)",
    )
    p.add_argument("--verbose", action="store_true", help="log one line per request")
    return p


def main(argv=None) -> int:
    return run_main(lambda: _main(argv))


def _main(argv) -> int:
    args = build_parser().parse_args(argv)
    tls = tls_context(*args.https) if args.https else None
    server = make_server(args.dir, args.host, args.port, tls=tls, verbose=args.verbose)
    try:
        with terminate_cleanly():
            print(f"serving {args.dir} at {url_of(server)} (Ctrl-C stops)", flush=True)
            if tls is None and not _loopback(args.host):
                print(
                    "warning: phones give the camera and WASM threads to HTTPS pages only: "
                    "add --https CERT KEY (docs/web.md)",
                    file=sys.stderr,
                    flush=True,
                )
            server.serve_forever()
    except (KeyboardInterrupt, Terminated):
        print("stopped", flush=True)
        return 130
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
