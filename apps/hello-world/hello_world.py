"""hello-world: asks the ``hello`` and ``world`` services by name and answers ``Hello World``.

GET / asks both upstreams at once and answers their bodies joined by a space (200).
GET /health reports this process's own liveness only (200 ``ok``), never the upstreams'.

A service name can stand for several tasks (Swarm's ``endpoint_mode: dnsrr`` gives one A
record per task), and a task on a node that stopped answers nothing at all: its packets
vanish. So one attempt at an upstream resolves the URL's host anew (``getaddrinfo``, no
cache: the records change as tasks move), shuffles its IPv4 and IPv6 addresses (so the
load spreads over the tasks, whatever order the resolver prefers) and tries them in turn:
each connect may take ``CONNECT_TIMEOUT`` (0.5 s), then each read ``Policy.timeout``
(2 s). A connect refused or timed out, a read timed out or an answer other than 200 moves
on to the next address at once; a dead task costs its connect timeout, not an error.
The request keeps the URL's ``Host`` (the service name) whichever address it goes to.

When every address failed, the attempt failed: up to 3 attempts, 0.2 s and 0.4 s of
backoff between them, at most 4 s for one upstream in all (``Policy``). When an upstream
cannot be reached the answer is 502, one line per missing service naming its last reason,
its URL, the attempts and every address tried, e.g.
``hello is unavailable: connect timed out (http://hello:8080/, 3 attempts at 10.0.1.5:8080, 10.0.1.6:8080)``.

Environment: ``HELLO_URL`` (default http://hello:8080/), ``WORLD_URL`` (default
http://world:8080/), ``CONNECT_TIMEOUT`` (seconds per connect, default 0.5), and
``PORT``/``HOST`` as every app (see serve.py). An ``http_proxy`` does not apply.
"""

from __future__ import annotations

import http.client
import os
import random
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from urllib.parse import SplitResult, urlsplit

from serve import Response, Route, serve, text

NAME = "hello-world"
UPSTREAMS = (("hello", "HELLO_URL", "http://hello:8080/"), ("world", "WORLD_URL", "http://world:8080/"))
MAX_BODY = 64 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}

# One address to connect to, as getaddrinfo() gives it: (family, sockaddr).
Address = tuple[int, tuple]
# host, port -> the addresses to try, in the order to try them.
Resolver = Callable[[str, int], list[Address]]


@dataclass(frozen=True)
class Upstream:
    name: str
    url: str


@dataclass(frozen=True)
class Policy:
    """How hard to try one upstream: worst case, a hanging upstream costs ``deadline`` seconds."""

    attempts: int = 3  # each attempt tries every address the name has then
    timeout: float = 2.0  # per address: each read
    backoff: float = 0.2  # sleep backoff * n after the n-th failed attempt
    deadline: float = 4.0  # for all attempts at one upstream together
    connect_timeout: float = 0.5  # per address: the connect (CONNECT_TIMEOUT)


class UpstreamError(Exception):
    """An upstream did not answer 200; the message says why (or, from fetch(), who and why)."""


def upstreams_from_env(env: Mapping[str, str] | None = None) -> tuple[Upstream, ...]:
    env = os.environ if env is None else env
    return tuple(_upstream(name, var, env.get(var, "").strip() or default) for name, var, default in UPSTREAMS)


def _upstream(name: str, var: str, url: str) -> Upstream:
    if not _is_http_url(url):
        raise SystemExit(f"{var} must be an http:// or https:// URL, got {url!r}")
    return Upstream(name, url)


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a port that is not one
    except ValueError:
        return False
    return parts.scheme in DEFAULT_PORTS and bool(parts.hostname)


def policy_from_env(env: Mapping[str, str] | None = None) -> Policy:
    env = os.environ if env is None else env
    raw = env.get("CONNECT_TIMEOUT", "").strip()
    if not raw:
        return Policy()
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= Policy.deadline:
        raise SystemExit(f"CONNECT_TIMEOUT must be seconds above 0 and at most {Policy.deadline}, got {raw!r}")
    return Policy(connect_timeout=seconds)


# ---------------------------------------------------------------- one address


def resolve(host: str, port: int) -> list[Address]:
    """Every IPv4 and IPv6 address of ``host``, asked anew, without duplicates, in a random order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UpstreamError(f"cannot resolve {host}: {exc}") from exc
    wanted = (socket.AF_INET, socket.AF_INET6)
    addresses = list(dict.fromkeys((info[0], info[4]) for info in infos if info[0] in wanted))
    random.shuffle(addresses)
    return addresses


def show(address: Address) -> str:
    """``10.0.1.5:8080``, ``[fd00::5]:8080``: an address as the 502 message names it."""
    family, sockaddr = address
    host, port = sockaddr[0], sockaddr[1]
    return f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"


def _connect(address: Address, timeout: float) -> socket.socket:
    family, sockaddr = address
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(sockaddr)
    except TimeoutError as exc:
        sock.close()
        raise UpstreamError("connect timed out") from exc
    except OSError as exc:
        sock.close()
        raise UpstreamError(_reason(exc)) from exc
    return sock


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "read timed out"
    return str(exc) or type(exc).__name__


def _send(connection: http.client.HTTPConnection, parts: SplitResult) -> None:
    """A GET of the URL over the connection's socket, TLS first for https, Host the URL's."""
    if parts.scheme == "https":
        context = ssl.create_default_context()
        connection.sock = context.wrap_socket(connection.sock, server_hostname=parts.hostname)
    path = parts.path or "/"
    headers = {"Host": parts.netloc.rpartition("@")[2], "User-Agent": f"swarmops-{NAME}"}
    connection.request("GET", f"{path}?{parts.query}" if parts.query else path, headers=headers)


def get_once(url: str, address: Address, connect_timeout: float, read_timeout: float) -> str:
    """The body of one GET of ``url`` sent to ``address`` that answered 200, stripped; else UpstreamError."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
    connection.sock = _connect(address, connect_timeout)  # connected: http.client only talks over it
    connection.sock.settimeout(read_timeout)
    try:
        _send(connection, parts)
        answer = connection.getresponse()
        if answer.status != HTTPStatus.OK:
            raise UpstreamError(f"HTTP {answer.status}")
        return answer.read(MAX_BODY).decode("utf-8", "replace").strip()
    except (OSError, http.client.HTTPException) as exc:  # read timeouts, resets, TLS, garbled answers
        raise UpstreamError(_reason(exc)) from exc
    finally:
        connection.close()


# ---------------------------------------------------------------- attempts


@dataclass
class _Tries:
    """One fetch(): its deadline, attempts so far, every address in the order first tried, the last reason."""

    until: float
    clock: Callable[[], float]
    attempts: int = 0
    addresses: dict[str, None] = field(default_factory=dict)
    reason: str = "no attempt fitted in the deadline"

    def remaining(self) -> float:
        return self.until - self.clock()

    def failed(self, reason: str, address: Address | None = None) -> None:
        self.reason = reason
        if address is not None:
            self.addresses[show(address)] = None

    def summary(self) -> str:
        text = f"{self.attempts} attempt" + ("" if self.attempts == 1 else "s")
        return f"{text} at {', '.join(self.addresses)}" if self.addresses else text


def _attempt(url: str, policy: Policy, resolver: Resolver, tries: _Tries) -> str | None:
    """One attempt: the URL host's addresses in turn until one answers 200 (its body); None if none did."""
    parts = urlsplit(url)
    try:
        addresses = resolver(parts.hostname or "", parts.port or DEFAULT_PORTS[parts.scheme])
    except UpstreamError as exc:
        tries.failed(str(exc))
        return None
    if not addresses:
        tries.failed(f"{parts.hostname} has no IPv4 or IPv6 address")
    for address in addresses:
        remaining = tries.remaining()
        if remaining <= 0:
            break
        try:
            return get_once(url, address, min(policy.connect_timeout, remaining), min(policy.timeout, remaining))
        except UpstreamError as exc:
            tries.failed(str(exc), address)
    return None


def fetch(
    upstream: Upstream,
    policy: Policy,
    resolver: Resolver = resolve,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Attempts with backoff until one answers 200; UpstreamError naming the upstream when none did."""
    tries = _Tries(clock() + policy.deadline, clock)
    while tries.attempts < policy.attempts and tries.remaining() > 0:
        if tries.attempts:
            sleep(min(policy.backoff * tries.attempts, max(tries.remaining(), 0.0)))
        if tries.remaining() <= 0:
            break
        tries.attempts += 1
        body = _attempt(upstream.url, policy, resolver, tries)
        if body is not None:
            return body
    raise UpstreamError(f"{upstream.name} is unavailable: {tries.reason} ({upstream.url}, {tries.summary()})")


# ---------------------------------------------------------------- the app


def hello_world(upstreams: Sequence[Upstream], policy: Policy, resolver: Resolver = resolve) -> Response:
    """The upstreams' bodies joined by a space, or 502 naming each one that is unavailable."""
    with ThreadPoolExecutor(max_workers=len(upstreams), thread_name_prefix="upstream") as pool:
        futures = [pool.submit(fetch, upstream, policy, resolver) for upstream in upstreams]
    bodies: list[str] = []
    errors: list[str] = []
    for future in futures:
        try:
            bodies.append(future.result())
        except UpstreamError as exc:
            errors.append(str(exc))
    if errors:
        return text("\n".join(errors) + "\n", HTTPStatus.BAD_GATEWAY)
    return text(" ".join(bodies))


def routes(
    upstreams: Sequence[Upstream], policy: Policy | None = None, resolver: Resolver = resolve
) -> dict[str, Route]:
    return {"/": partial(hello_world, tuple(upstreams), policy or Policy(), resolver)}


def main() -> None:
    serve(NAME, routes(upstreams_from_env(), policy_from_env()))


if __name__ == "__main__":
    main()
