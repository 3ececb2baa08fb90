"""The demo apps hello, world and hello-world, served in-process on 127.0.0.1 (no Docker)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import hello
import hello_world
import pytest
import serve
import world
from hello_world import Policy, Upstream, UpstreamError

APPS = Path(__file__).resolve().parents[3] / "apps"
# Requests go straight to 127.0.0.1, whatever proxy the environment names.
CLIENT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url: str, timeout: float = 15.0) -> tuple[int, str, str]:
    """(status, body, content type) of a GET, errors included."""
    try:
        with CLIENT.open(url, timeout=timeout) as answer:
            return answer.status, answer.read().decode(), answer.headers["Content-Type"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), exc.headers["Content-Type"]


class Running:
    """An app server on 127.0.0.1 in a thread; stop() and start() again keep its port."""

    def __init__(self, name: str, routes: dict, port: int = 0) -> None:
        self.name, self.routes = name, routes
        self.server = serve.make_server(name, routes, "127.0.0.1", port)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def start(self) -> Running:
        return Running(self.name, self.routes, self.port)


@contextlib.contextmanager
def running(name: str, routes: dict) -> Iterator[Running]:
    app = Running(name, routes)
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture
def upstreams():
    with running("hello", hello.ROUTES) as h, running("world", world.ROUTES) as w:
        yield h, w


def v4(port: int) -> hello_world.Address:
    return (socket.AF_INET, ("127.0.0.1", port))


def names(table: dict[str, list[hello_world.Address]]) -> hello_world.Resolver:
    """A resolver answering from ``table`` (host -> addresses, in that order), like DNS with dnsrr."""

    def resolver(host: str, port: int) -> list[hello_world.Address]:
        return list(table[host])

    return resolver


def front(
    hello_url: str, world_url: str, policy: Policy | None = None, resolver: hello_world.Resolver = hello_world.resolve
):
    routes = hello_world.routes([Upstream("hello", hello_url), Upstream("world", world_url)], policy, resolver)
    return running("hello-world", routes)


# ---------------------------------------------------------------- hello, world


@pytest.mark.parametrize(("app", "body"), [(hello, "Hello"), (world, "World")])
def test_hello_and_world_answer_their_word_exactly(app, body):
    with running(app.NAME, app.ROUTES) as server:
        assert get(server.url) == (200, body, "text/plain; charset=utf-8")
        assert get(server.url + "?lang=en")[:2] == (200, body)
        assert get(server.url + "health")[:2] == (200, "ok")


def test_unknown_path_is_404_and_the_server_keeps_serving():
    with running("hello", hello.ROUTES) as server:
        assert get(server.url + "nope")[:2] == (404, "not found: /nope\n")
        assert get(server.url)[:2] == (200, "Hello")


def test_a_failing_route_is_a_500_not_a_dead_server():
    def broken() -> serve.Response:
        raise RuntimeError("boom")

    with running("broken", {"/": broken}) as server:
        assert get(server.url)[:2] == (500, "internal error: RuntimeError: boom\n")
        assert get(server.url + "health")[:2] == (200, "ok")


def test_one_log_line_per_request_on_stdout(capsys):
    with running("hello", hello.ROUTES) as server:
        get(server.url)
        get(server.url + "missing")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert ' hello 127.0.0.1 "GET / HTTP/1.1" 200 5 ' in lines[0]
    assert ' hello 127.0.0.1 "GET /missing HTTP/1.1" 404 ' in lines[1]


def test_server_close_waits_for_requests_in_flight():
    def slow() -> serve.Response:
        time.sleep(0.5)
        return serve.text("done")

    answers = []
    with running("slow", {"/": slow}) as server:
        client = threading.Thread(target=lambda: answers.append(get(server.url)[:2]))
        client.start()
        time.sleep(0.2)
    client.join(5)
    assert answers == [(200, "done")]


@pytest.mark.parametrize(("value", "port"), [(None, 8080), ("", 8080), ("8081", 8081), (" 9000 ", 9000), ("0", 0)])
def test_port_from_env(value, port):
    env = {} if value is None else {"PORT": value}
    assert serve.port_from_env(env) == port


@pytest.mark.parametrize("value", ["http", "-1", "65536", "80.5"])
def test_bad_port_names_the_value(value):
    with pytest.raises(SystemExit, match=f"PORT must be a TCP port number \\(0-65535\\), got '{value}'"):
        serve.port_from_env({"PORT": value})


def test_healthcheck_is_the_exit_code_of_a_get_on_its_own_health(closed_port, capsys):
    with running("hello", hello.ROUTES) as server:
        assert serve.healthcheck({"PORT": str(server.port)}) == 0
    assert serve.healthcheck({"PORT": str(closed_port)}) == 1
    assert f"unhealthy: http://127.0.0.1:{closed_port}/health" in capsys.readouterr().err


def test_sigterm_finishes_and_exits_zero():
    env = {**os.environ, "PYTHONPATH": str(APPS / "common"), "HOST": "127.0.0.1", "PORT": "0"}
    proc = subprocess.Popen(
        [sys.executable, str(APPS / "hello" / "hello.py")], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        first = proc.stdout.readline()
        assert " hello listening on 127.0.0.1:" in first
        port = int(first.rsplit(":", 1)[1])
        assert get(f"http://127.0.0.1:{port}/")[:2] == (200, "Hello")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0
        rest = proc.stdout.read()
        assert "hello got SIGTERM" in rest
        assert rest.rstrip().endswith("hello stopped")
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


# ---------------------------------------------------------------- hello-world


def test_hello_world_answers_exactly_hello_world(upstreams):
    h, w = upstreams
    with front(h.url, w.url) as server:
        assert get(server.url) == (200, "Hello World", "text/plain; charset=utf-8")


def test_hello_down_is_a_502_naming_hello_only(upstreams):
    h, w = upstreams
    h.stop()
    with front(h.url, w.url) as server:
        status, body = get(server.url)[:2]
    assert status == 502
    assert body.startswith("hello is unavailable: ")
    assert "Connection refused" in body
    assert f"({h.url}, 3 attempts at 127.0.0.1:{h.port})" in body
    assert "world" not in body.lower()


def test_both_down_names_both(closed_port):
    url = f"http://127.0.0.1:{closed_port}/"
    with front(url, url) as server:
        status, body = get(server.url)[:2]
    assert status == 502
    lines = body.splitlines()
    assert [line.split(":", 1)[0] for line in lines] == ["hello is unavailable", "world is unavailable"]


def test_health_is_its_own_liveness_only(closed_port):
    url = f"http://127.0.0.1:{closed_port}/"
    with front(url, url) as server:
        assert get(server.url + "health")[:2] == (200, "ok")


def test_recovers_when_hello_comes_back(upstreams):
    h, w = upstreams
    h.stop()
    with front(h.url, w.url) as server:
        assert get(server.url)[0] == 502
        back = h.start()
        try:
            assert get(server.url)[:2] == (200, "Hello World")
        finally:
            back.stop()


def test_an_upstream_error_status_is_unavailable_with_that_status(upstreams):
    w = upstreams[1]

    def failing() -> serve.Response:
        return serve.text("overloaded", 503)

    with running("hello", {"/": failing}) as h, front(h.url, w.url) as server:
        status, body = get(server.url)[:2]
    assert status == 502
    assert body.startswith("hello is unavailable: HTTP 503 (")


def test_a_hanging_upstream_costs_at_most_the_deadline(upstreams):
    """hello accepts connections but never answers: 502 after Policy().deadline (4 s), not later."""
    w = upstreams[1]
    with socket.socket() as hanging:
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(8)  # the kernel completes the handshakes; nobody ever answers
        hanging_url = f"http://127.0.0.1:{hanging.getsockname()[1]}/"
        with front(hanging_url, w.url) as server:
            started = time.monotonic()
            status, body = get(server.url)[:2]
            elapsed = time.monotonic() - started
    assert status == 502
    assert body.startswith("hello is unavailable: read timed out (")
    assert "world" not in body.lower()
    assert Policy().deadline - 0.5 < elapsed < Policy().deadline + 1.5


# ---------------------------------------------------------------- several addresses per name (dnsrr)


def test_a_dead_address_first_costs_the_connect_timeout_not_an_error(upstreams, dead_port):
    """Each name has a dead task listed first, then a live one: 200 after about one connect timeout."""
    h, w = upstreams
    resolver = names({"hello": [v4(dead_port), v4(h.port)], "world": [v4(dead_port), v4(w.port)]})
    with front("http://hello:8080/", "http://world:8080/", resolver=resolver) as server:
        started = time.monotonic()
        status, body = get(server.url)[:2]
        elapsed = time.monotonic() - started
    assert (status, body) == (200, "Hello World")
    connect_timeout = Policy().connect_timeout
    assert connect_timeout - 0.05 < elapsed < connect_timeout + 0.4  # both upstreams at once, no retry


def test_every_address_dead_is_a_502_naming_each_address(dead_port, closed_port):
    resolver = names({"hello": [v4(closed_port), v4(dead_port)], "world": [v4(closed_port)]})
    with front("http://hello:8080/", "http://world:8080/", resolver=resolver) as server:
        status, body = get(server.url)[:2]
    assert status == 502
    hello_line, world_line = body.splitlines()
    assert hello_line == (
        "hello is unavailable: connect timed out "
        f"(http://hello:8080/, 3 attempts at 127.0.0.1:{closed_port}, 127.0.0.1:{dead_port})"
    )
    assert world_line.startswith("world is unavailable: [Errno 111] Connection refused (http://world:8080/, ")
    assert world_line.endswith(f"3 attempts at 127.0.0.1:{closed_port})")


def test_the_request_keeps_the_service_name_as_host():
    """Sent to an address, the GET still says Host: hello:8080 (and asks the URL's path and query)."""
    seen: list[tuple[str, str]] = []

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.headers["Host"], self.path))
            body = b"echo"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = serve.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        address = v4(server.server_address[1])
        assert hello_world.get_once("http://hello:8080/x?y=1", address, 0.5, 2.0) == "echo"
    finally:
        server.shutdown()
        server.server_close()
    assert seen == [("hello:8080", "/x?y=1")]


def test_resolve_asks_each_time_and_keeps_ipv4_and_ipv6_once_each(monkeypatch):
    calls: list[tuple[str, int]] = []
    v6 = (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fd00::5", 8080, 0, 0))
    v4a = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.1.5", 8080))
    v4b = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.1.6", 8080))

    def getaddrinfo(host: str, port: int, **_kwargs: object) -> list:
        calls.append((host, port))
        return [v4a, v6, v4a, v4b]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    first, second = hello_world.resolve("hello", 8080), hello_world.resolve("hello", 8080)
    assert calls == [("hello", 8080), ("hello", 8080)]
    expected = {(socket.AF_INET, v4a[4]), (socket.AF_INET6, v6[4]), (socket.AF_INET, v4b[4])}
    assert len(first) == len(second) == 3
    assert set(first) == set(second) == expected


def test_resolve_failure_is_an_upstream_error(monkeypatch):
    def getaddrinfo(host: str, port: int, **_kwargs: object) -> list:
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(UpstreamError, match=r"^cannot resolve hello: \[Errno -2\] Name or service not known$"):
        hello_world.resolve("hello", 8080)


def test_resolve_numeric_loopback_needs_no_dns():
    assert hello_world.resolve("127.0.0.1", 8080) == [v4(8080)]


@pytest.mark.parametrize(
    ("address", "shown"),
    [(v4(8080), "127.0.0.1:8080"), ((socket.AF_INET6, ("fd00::5", 8080, 0, 0)), "[fd00::5]:8080")],
)
def test_addresses_are_shown_with_their_port(address, shown):
    assert hello_world.show(address) == shown


# ---------------------------------------------------------------- retry policy (no sockets)


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


REFUSED, SILENT, HANGS = object(), object(), object()
A, B = (socket.AF_INET, ("10.0.1.5", 8080)), (socket.AF_INET, ("10.0.1.6", 8080))
ONE = names({"hello": [A], "w": [A]})


def fake_get(monkeypatch, outcomes: list, fake: FakeTime) -> list[tuple]:
    """get_once() answering from ``outcomes`` (a str is a body, SILENT a dead address, HANGS a
    silent answer); returns (address, connect timeout, read timeout) of each call."""
    calls: list[tuple] = []

    def get_once(url: str, address: hello_world.Address, connect_timeout: float, read_timeout: float) -> str:
        calls.append((hello_world.show(address), round(connect_timeout, 3), round(read_timeout, 3)))
        outcome = outcomes.pop(0)
        if isinstance(outcome, str):
            return outcome
        if outcome is SILENT:
            fake.now += connect_timeout
            raise UpstreamError("connect timed out")
        if outcome is HANGS:
            fake.now += read_timeout
            raise UpstreamError("read timed out")
        raise UpstreamError("Connection refused")

    monkeypatch.setattr(hello_world, "get_once", get_once)
    return calls


def fetch(upstream: Upstream, fake: FakeTime, resolver: hello_world.Resolver = ONE, policy: Policy | None = None):
    return hello_world.fetch(upstream, policy or Policy(), resolver, fake.sleep, fake.clock)


def test_retries_with_backoff_until_an_attempt_answers(monkeypatch):
    fake = FakeTime()
    calls = fake_get(monkeypatch, [REFUSED, REFUSED, "Hello"], fake)
    assert fetch(Upstream("hello", "http://hello:8080/"), fake) == "Hello"
    assert fake.sleeps == [0.2, 0.4]
    assert calls == [("10.0.1.5:8080", 0.5, 2.0)] * 3


def test_gives_up_after_the_attempts_naming_upstream_reason_url_and_tries(monkeypatch):
    fake = FakeTime()
    fake_get(monkeypatch, [REFUSED, REFUSED, REFUSED], fake)
    with pytest.raises(UpstreamError) as caught:
        fetch(Upstream("hello", "http://hello:8080/"), fake)
    assert str(caught.value) == (
        "hello is unavailable: Connection refused (http://hello:8080/, 3 attempts at 10.0.1.5:8080)"
    )


def test_the_deadline_cuts_attempts_and_their_timeouts(monkeypatch):
    fake = FakeTime()
    calls = fake_get(monkeypatch, [HANGS, HANGS, HANGS], fake)
    with pytest.raises(UpstreamError, match=r"^world is unavailable: read timed out \(http://w/, 2 attempts at "):
        fetch(Upstream("world", "http://w/"), fake)
    # the second attempt gets only what the 4 s deadline leaves
    assert [call[2] for call in calls] == [2.0, 1.8]
    assert fake.now - 100.0 == pytest.approx(Policy().deadline)


def test_a_dead_address_moves_on_to_the_next_at_once(monkeypatch):
    fake = FakeTime()
    calls = fake_get(monkeypatch, [SILENT, "Hello"], fake)
    assert fetch(Upstream("hello", "http://hello:8080/"), fake, names({"hello": [A, B]})) == "Hello"
    assert calls == [("10.0.1.5:8080", 0.5, 2.0), ("10.0.1.6:8080", 0.5, 2.0)]
    assert fake.sleeps == []  # the same attempt, no backoff
    assert fake.now - 100.0 == pytest.approx(0.5)


def test_every_attempt_tries_every_address_and_the_error_names_them(monkeypatch):
    fake = FakeTime()
    calls = fake_get(monkeypatch, [SILENT, REFUSED] * 3, fake)
    with pytest.raises(UpstreamError) as caught:
        fetch(Upstream("hello", "http://hello:8080/"), fake, names({"hello": [A, B]}))
    assert [call[0] for call in calls] == ["10.0.1.5:8080", "10.0.1.6:8080"] * 3
    assert fake.sleeps == [0.2, 0.4]
    assert str(caught.value) == (
        "hello is unavailable: Connection refused (http://hello:8080/, 3 attempts at 10.0.1.5:8080, 10.0.1.6:8080)"
    )


def test_each_attempt_resolves_again_and_follows_a_moved_task(monkeypatch):
    """The task moved between two attempts: the second attempt asks DNS again and finds it."""
    fake = FakeTime()
    fake_get(monkeypatch, [REFUSED, "Hello"], fake)
    answers = [[A], [B]]
    asked: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[hello_world.Address]:
        asked.append((host, port))
        return answers.pop(0)

    assert fetch(Upstream("hello", "http://hello:8080/"), fake, resolver) == "Hello"
    assert asked == [("hello", 8080), ("hello", 8080)]


def test_a_connect_timeout_never_outlasts_the_deadline(monkeypatch):
    fake = FakeTime()
    calls = fake_get(monkeypatch, [SILENT] * 20, fake)
    policy = Policy(connect_timeout=1.5)
    with pytest.raises(UpstreamError, match=r"connect timed out \(http://hello:8080/, 2 attempts at 10.0.1.5:8080"):
        fetch(Upstream("hello", "http://hello:8080/"), fake, names({"hello": [A, B]}), policy)
    # attempt 1: 1.5 + 1.5; backoff 0.2; attempt 2: the 0.8 s left, then nothing for B
    assert [call[1] for call in calls] == [1.5, 1.5, 0.8]
    assert fake.now - 100.0 == pytest.approx(policy.deadline)


def test_a_name_without_address_is_the_reason(monkeypatch):
    fake = FakeTime()
    fake_get(monkeypatch, [], fake)
    with pytest.raises(UpstreamError) as caught:
        fetch(Upstream("hello", "http://hello:8080/"), fake, names({"hello": []}))
    assert (
        str(caught.value) == "hello is unavailable: hello has no IPv4 or IPv6 address (http://hello:8080/, 3 attempts)"
    )


# ---------------------------------------------------------------- configuration


def test_upstreams_default_to_the_service_names():
    assert hello_world.upstreams_from_env({}) == (
        Upstream("hello", "http://hello:8080/"),
        Upstream("world", "http://world:8080/"),
    )


def test_upstream_urls_from_the_environment():
    env = {"HELLO_URL": "http://10.0.0.1:9000/", "WORLD_URL": "https://world.example/"}
    assert [u.url for u in hello_world.upstreams_from_env(env)] == ["http://10.0.0.1:9000/", "https://world.example/"]


@pytest.mark.parametrize("url", ["world:8080", "http:///", "http://world:99999/", "ftp://world/"])
def test_a_bad_upstream_url_names_the_variable(url):
    with pytest.raises(SystemExit, match=f"WORLD_URL must be an http:// or https:// URL, got '{url}'"):
        hello_world.upstreams_from_env({"WORLD_URL": url})


@pytest.mark.parametrize(("value", "seconds"), [(None, 0.5), ("", 0.5), ("0.25", 0.25), (" 1 ", 1.0), ("4", 4.0)])
def test_connect_timeout_from_env(value, seconds):
    env = {} if value is None else {"CONNECT_TIMEOUT": value}
    assert hello_world.policy_from_env(env) == Policy(connect_timeout=seconds)


@pytest.mark.parametrize("value", ["0", "-1", "fast", "4.5", "nan"])
def test_a_bad_connect_timeout_names_the_variable(value):
    with pytest.raises(SystemExit, match=f"CONNECT_TIMEOUT must be seconds above 0 and at most 4.0, got '{value}'"):
        hello_world.policy_from_env({"CONNECT_TIMEOUT": value})
