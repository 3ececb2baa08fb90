"""hello-world: asks the ``hello`` and ``world`` services by name and answers ``Hello World``.

GET / asks both upstreams at once, each with a short timeout and a few attempts
within a deadline, and answers their bodies joined by a space (200). When an upstream
cannot be reached it answers 502 with one line per missing service, e.g.
``hello is unavailable: [Errno 111] Connection refused (http://hello:8080/, 3 attempts)``.
GET /health reports this process's own liveness only (200 ``ok``), never the upstreams'.

Environment: ``HELLO_URL`` (default http://hello:8080/), ``WORLD_URL`` (default
http://world:8080/), and ``PORT``/``HOST`` as every app (see serve.py).
"""

from __future__ import annotations

import http.client
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from urllib.parse import urlsplit

from serve import Response, Route, serve, text

NAME = "hello-world"
UPSTREAMS = (("hello", "HELLO_URL", "http://hello:8080/"), ("world", "WORLD_URL", "http://world:8080/"))
MAX_BODY = 64 * 1024

# Services call each other directly by name: an http_proxy in the environment must not apply.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_OPENER.addheaders = [("User-Agent", f"swarmops-{NAME}")]


@dataclass(frozen=True)
class Upstream:
    name: str
    url: str


@dataclass(frozen=True)
class Policy:
    """How hard to try one upstream: worst case, a hanging upstream costs ``deadline`` seconds."""

    attempts: int = 3
    timeout: float = 2.0  # per attempt: the connect, and each read
    backoff: float = 0.2  # sleep backoff * n after the n-th failed attempt
    deadline: float = 4.0  # for all attempts at one upstream together


class UpstreamError(Exception):
    """An upstream did not answer 200; the message says why (or, from fetch(), who and why)."""


def upstreams_from_env(env: Mapping[str, str] | None = None) -> tuple[Upstream, ...]:
    env = os.environ if env is None else env
    return tuple(_upstream(name, var, env.get(var, "").strip() or default) for name, var, default in UPSTREAMS)


def _upstream(name: str, var: str, url: str) -> Upstream:
    if urlsplit(url).scheme not in ("http", "https"):
        raise SystemExit(f"{var} must be an http:// or https:// URL, got {url!r}")
    return Upstream(name, url)


def get_once(url: str, timeout: float) -> str:
    """The body of one GET that answered 200, stripped; UpstreamError with the reason otherwise."""
    try:
        with _OPENER.open(url, timeout=timeout) as answer:
            if answer.status != HTTPStatus.OK:
                raise UpstreamError(f"HTTP {answer.status}")
            return answer.read(MAX_BODY).decode("utf-8", "replace").strip()
    except urllib.error.HTTPError as exc:  # before URLError: it is one
        raise UpstreamError(f"HTTP {exc.code}") from exc
    except urllib.error.URLError as exc:  # connect failures: refused, DNS, connect timeout
        raise UpstreamError(str(exc.reason) or type(exc.reason).__name__) from exc
    except (OSError, http.client.HTTPException) as exc:  # read timeouts, resets, garbled answers
        raise UpstreamError(str(exc) or type(exc).__name__) from exc


def fetch(
    upstream: Upstream,
    policy: Policy,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """get_once() with retries; UpstreamError naming the upstream when every attempt failed."""
    deadline = clock() + policy.deadline
    attempts = 0
    reason = "no attempt fitted in the deadline"
    while attempts < policy.attempts and clock() < deadline:
        if attempts:
            sleep(min(policy.backoff * attempts, max(deadline - clock(), 0.0)))
        remaining = deadline - clock()
        if remaining <= 0:
            break
        attempts += 1
        try:
            return get_once(upstream.url, min(policy.timeout, remaining))
        except UpstreamError as exc:
            reason = str(exc)
    tries = f"{attempts} attempt" + ("" if attempts == 1 else "s")
    raise UpstreamError(f"{upstream.name} is unavailable: {reason} ({upstream.url}, {tries})")


def hello_world(upstreams: Sequence[Upstream], policy: Policy) -> Response:
    """The upstreams' bodies joined by a space, or 502 naming each one that is unavailable."""
    with ThreadPoolExecutor(max_workers=len(upstreams), thread_name_prefix="upstream") as pool:
        futures = [pool.submit(fetch, upstream, policy) for upstream in upstreams]
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


def routes(upstreams: Sequence[Upstream], policy: Policy | None = None) -> dict[str, Route]:
    return {"/": partial(hello_world, tuple(upstreams), policy or Policy())}


def main() -> None:
    serve(NAME, routes(upstreams_from_env()))


if __name__ == "__main__":
    main()
