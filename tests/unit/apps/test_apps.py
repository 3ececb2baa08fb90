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


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def front(hello_url: str, world_url: str, policy: Policy | None = None):
    routes = hello_world.routes([Upstream("hello", hello_url), Upstream("world", world_url)], policy)
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
    assert f"({h.url}, 3 attempts)" in body
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
    assert body.startswith("hello is unavailable: timed out (")
    assert "world" not in body.lower()
    assert Policy().deadline - 0.5 < elapsed < Policy().deadline + 1.5


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


REFUSED, HANGS = object(), object()


def fake_get(monkeypatch, outcomes: list, fake: FakeTime) -> list[float]:
    """get_once() answering from ``outcomes`` (a str is a body); returns the timeouts it was given."""
    timeouts: list[float] = []

    def get_once(url: str, timeout: float) -> str:
        timeouts.append(round(timeout, 3))
        outcome = outcomes.pop(0)
        if isinstance(outcome, str):
            return outcome
        if outcome is HANGS:
            fake.now += timeout
            raise UpstreamError("timed out")
        raise UpstreamError("Connection refused")

    monkeypatch.setattr(hello_world, "get_once", get_once)
    return timeouts


def test_retries_with_backoff_until_an_attempt_answers(monkeypatch):
    fake = FakeTime()
    timeouts = fake_get(monkeypatch, [REFUSED, REFUSED, "Hello"], fake)
    assert hello_world.fetch(Upstream("hello", "http://hello:8080/"), Policy(), fake.sleep, fake.clock) == "Hello"
    assert fake.sleeps == [0.2, 0.4]
    assert timeouts == [2.0, 2.0, 2.0]


def test_gives_up_after_the_attempts_naming_upstream_reason_url_and_tries(monkeypatch):
    fake = FakeTime()
    fake_get(monkeypatch, [REFUSED, REFUSED, REFUSED], fake)
    with pytest.raises(UpstreamError) as caught:
        hello_world.fetch(Upstream("hello", "http://hello:8080/"), Policy(), fake.sleep, fake.clock)
    assert str(caught.value) == "hello is unavailable: Connection refused (http://hello:8080/, 3 attempts)"


def test_the_deadline_cuts_attempts_and_their_timeouts(monkeypatch):
    fake = FakeTime()
    timeouts = fake_get(monkeypatch, [HANGS, HANGS, HANGS], fake)
    with pytest.raises(UpstreamError, match=r"^world is unavailable: timed out \(http://w/, 2 attempts\)$"):
        hello_world.fetch(Upstream("world", "http://w/"), Policy(), fake.sleep, fake.clock)
    assert timeouts == [2.0, 1.8]  # the second attempt gets only what the 4 s deadline leaves
    assert fake.now - 100.0 == pytest.approx(Policy().deadline)


# ---------------------------------------------------------------- configuration


def test_upstreams_default_to_the_service_names():
    assert hello_world.upstreams_from_env({}) == (
        Upstream("hello", "http://hello:8080/"),
        Upstream("world", "http://world:8080/"),
    )


def test_upstream_urls_from_the_environment():
    env = {"HELLO_URL": "http://10.0.0.1:9000/", "WORLD_URL": "https://world.example/"}
    assert [u.url for u in hello_world.upstreams_from_env(env)] == ["http://10.0.0.1:9000/", "https://world.example/"]


def test_a_bad_upstream_url_names_the_variable():
    with pytest.raises(SystemExit, match="WORLD_URL must be an http:// or https:// URL, got 'world:8080'"):
        hello_world.upstreams_from_env({"WORLD_URL": "world:8080"})
