"""The HTTP plumbing the swarmops demo apps share (standard library only).

Each app hands ``serve()`` its name and its routes (path -> function returning a
``Response``); this module adds ``GET /health`` (200 ``ok``: the process is alive),
answers in ``text/plain``, runs one thread per request, logs one line per request
to stdout and stops gracefully on SIGTERM or SIGINT: it stops accepting, finishes
the requests in flight, then exits 0.

Environment: ``PORT`` (default 8080, 0 picks a free port), ``HOST`` (default 0.0.0.0).

Run as a script, it is the images' health check: it exits 0 when
``http://127.0.0.1:$PORT/health`` answers 200, else 1.
"""

from __future__ import annotations

import os
import signal
import socketserver
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from urllib.parse import urlsplit

DEFAULT_PORT = 8080
DEFAULT_HOST = "0.0.0.0"  # a service in a container listens on all its interfaces
# A client that connects and sends nothing cannot hold a thread (and a graceful stop) longer.
REQUEST_TIMEOUT = 10.0


@dataclass(frozen=True)
class Response:
    status: int
    body: str


Route = Callable[[], Response]


def text(body: str, status: int = HTTPStatus.OK) -> Response:
    return Response(int(status), body)


def health() -> Response:
    return text("ok")


def log(line: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"{stamp} {line}", file=sys.stdout, flush=True)


class AppServer(ThreadingHTTPServer):
    """One thread per request; ``server_close()`` waits for the requests in flight."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, name: str, routes: Mapping[str, Route], address: tuple[str, int]) -> None:
        self.name = name
        self.routes: dict[str, Route] = {"/health": health, **routes}
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind() also looks up the host's FQDN, which can stall where
        # DNS does not answer; nothing here needs it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)


class _Handler(BaseHTTPRequestHandler):
    server: AppServer
    server_version = "swarmops-app"
    timeout = REQUEST_TIMEOUT

    def do_GET(self) -> None:
        started = time.monotonic()
        response = self._dispatch(urlsplit(self.path).path)
        body = response.body.encode("utf-8")
        self.send_response(response.status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)
        elapsed_ms = (time.monotonic() - started) * 1000
        self._log(f'"{self.requestline}" {response.status} {len(body)} {elapsed_ms:.1f}ms')

    def _dispatch(self, path: str) -> Response:
        route = self.server.routes.get(path)
        if route is None:
            return text(f"not found: {path}\n", HTTPStatus.NOT_FOUND)
        try:
            return route()
        except Exception as exc:  # one broken request must not take the server down
            return text(f"internal error: {type(exc).__name__}: {exc}\n", HTTPStatus.INTERNAL_SERVER_ERROR)

    def _log(self, what: str) -> None:
        log(f"{self.server.name} {self.address_string()} {what}")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: do_GET logs one complete line per request itself."""

    def log_message(self, format: str, *args: object) -> None:
        # What the base class reports itself: malformed requests, unsupported methods.
        self._log(format % args)


def _environ(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def port_from_env(env: Mapping[str, str] | None = None) -> int:
    raw = _environ(env).get("PORT", "").strip() or str(DEFAULT_PORT)
    if not (raw.isascii() and raw.isdigit()) or int(raw) > 65535:
        raise SystemExit(f"PORT must be a TCP port number (0-65535), got {raw!r}")
    return int(raw)


def make_server(name: str, routes: Mapping[str, Route], host: str = DEFAULT_HOST, port: int = 0) -> AppServer:
    return AppServer(name, routes, (host, port))


def serve(name: str, routes: Mapping[str, Route], env: Mapping[str, str] | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then finish the requests in flight and return."""
    server = make_server(name, routes, _environ(env).get("HOST", DEFAULT_HOST), port_from_env(env))
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log(f"{name} got {signal.Signals(signum).name}: finishing requests in flight, then stopping")
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threading.Thread(target=server.serve_forever, name=f"{name}-accept", daemon=True).start()
    log(f"{name} listening on {server.server_name}:{server.server_port}")
    stop.wait()
    server.shutdown()
    server.server_close()
    log(f"{name} stopped")


def healthcheck(env: Mapping[str, str] | None = None, timeout: float = 2.0) -> int:
    """0 when this container's own /health answers 200, else 1 (Docker's HEALTHCHECK contract)."""
    url = f"http://127.0.0.1:{port_from_env(env)}/health"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as answer:
            return 0 if answer.status == HTTPStatus.OK else 1
    except OSError as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(healthcheck())
