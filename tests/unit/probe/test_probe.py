"""tests/probe/probe.py against servers on 127.0.0.1, and its summary's window arithmetic."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import probe
import pytest
from probe import Probe

PROBE = Path(probe.__file__).resolve()


class Answering:
    """An HTTP server on 127.0.0.1 answering GET with ``status`` and ``body``; it records the Host headers."""

    def __init__(self, body: str = "Hello World", status: int = 200) -> None:
        self.body, self.status, self.hosts = body, status, []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hosts.append(self.headers["Host"])
                data = owner.body.encode()
                self.send_response(owner.status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@contextlib.contextmanager
def answering(body: str = "Hello World", status: int = 200) -> Iterator[Answering]:
    server = Answering(body, status)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def live() -> Iterator[Answering]:
    with answering() as server:
        yield server


@pytest.fixture
def hanging_port() -> Iterator[int]:
    """Accepts connections (the kernel does) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def v4(port: int) -> tuple:
    return (socket.AF_INET, ("127.0.0.1", port))


def resolver(*ports: int):
    """A resolver that always answers these loopback ports, in this order, and counts its calls."""
    asked: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list:
        asked.append((host, port))
        return [v4(p) for p in ports]

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


def ask(*ports: int, **kwargs) -> dict:
    return Probe("http://hello-world:8080/", resolver=resolver(*ports), **kwargs).once()


# ---------------------------------------------------------------- one request


def test_a_good_answer_is_ok_with_the_address_that_gave_it(live):
    record = ask(live.port)
    assert record["ok"] is True
    assert record["addr"] == f"127.0.0.1:{live.port}"
    assert record["error"] is None
    assert 0 <= record["ms"] < 500
    assert abs(record["t"] - time.time()) < 5
    assert live.hosts == ["hello-world:8080"], "the Host header stays the service name"


def test_a_dead_address_first_costs_the_connect_timeout_then_the_next_answers(live, dead_port):
    record = ask(dead_port, live.port, connect_timeout=0.5)
    assert (record["ok"], record["addr"], record["error"]) == (True, f"127.0.0.1:{live.port}", None)
    assert 450 < record["ms"] < 900


def test_every_address_failing_is_a_failure_naming_each(dead_port, closed_port):
    record = ask(closed_port, dead_port, connect_timeout=0.3)
    assert record["ok"] is False
    assert record["addr"] is None
    assert record["error"] == (
        f"127.0.0.1:{closed_port} [Errno 111] Connection refused; 127.0.0.1:{dead_port} connect timed out"
    )
    assert 250 < record["ms"] < 700


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [("Hello", 200, "unexpected body 'Hello'"), ("hello is unavailable: ...", 502, "HTTP 502")],
)
def test_a_wrong_answer_moves_on_and_is_named_when_nobody_answers_right(live, body, status, reason):
    with answering(body, status) as wrong:
        assert ask(wrong.port)["error"] == f"127.0.0.1:{wrong.port} {reason}"
        record = ask(wrong.port, live.port)
    assert (record["ok"], record["addr"]) == (True, f"127.0.0.1:{live.port}")


def test_an_answer_later_than_the_deadline_is_a_failure(hanging_port, live):
    record = ask(hanging_port, live.port, deadline=0.6)
    assert record["ok"] is False
    assert record["error"] == f"127.0.0.1:{hanging_port} read timed out; deadline of 0.6 s passed"
    assert 550 < record["ms"] < 1000


def test_each_request_resolves_again():
    resolve = resolver()
    client = Probe("http://hello-world:8080/", resolver=resolve)
    assert client.once()["error"] == "hello-world has no IPv4 or IPv6 address"
    client.once()
    assert resolve.asked == [("hello-world", 8080), ("hello-world", 8080)]


def test_a_name_that_does_not_resolve_is_the_error(monkeypatch):
    def getaddrinfo(host: str, port: int, **_kwargs: object) -> list:
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    record = Probe("http://hello-world:8080/").once()
    assert record["ok"] is False
    assert record["error"] == "cannot resolve hello-world: [Errno -2] Name or service not known"


def test_resolve_keeps_each_address_once():
    assert probe.resolve("127.0.0.1", 8080) == [v4(8080)]


# ---------------------------------------------------------------- run


def test_run_writes_one_line_per_interval_to_the_file_and_stdout(live):
    out, echo, stop = io.StringIO(), io.StringIO(), threading.Event()
    client = Probe("http://hello-world:8080/", resolver=resolver(live.port))
    threading.Timer(0.55, stop.set).start()
    count = probe.run(client, out, 0.1, stop, echo)
    lines = out.getvalue().splitlines()
    assert out.getvalue() == echo.getvalue()
    assert len(lines) == count
    assert 4 <= count <= 7
    records = [json.loads(line) for line in lines]
    assert all(set(r) == {"t", "ok", "ms", "addr", "error"} for r in records)
    assert all(r["ok"] for r in records)
    starts = [r["t"] for r in records]
    assert all(0.05 < b - a < 0.2 for a, b in itertools.pairwise(starts)), starts


def test_a_slow_request_delays_the_next_instead_of_overlapping(hanging_port):
    out, stop = io.StringIO(), threading.Event()
    client = Probe("http://hello-world:8080/", deadline=0.3, resolver=resolver(hanging_port))
    threading.Timer(0.5, stop.set).start()
    assert probe.run(client, out, 0.05, stop) == 2
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert second["t"] - first["t"] == pytest.approx(0.3, abs=0.1)


def test_sigterm_finishes_the_request_writes_it_and_exits_zero(live, tmp_path):
    log = tmp_path / "probe.jsonl"
    log.write_text('{"t": 1.0, "ok": true, "ms": 1.0, "addr": null, "error": null}\n')  # appended to, not replaced
    proc = subprocess.Popen(
        [sys.executable, str(PROBE), "run", str(log), "--url", f"http://127.0.0.1:{live.port}/", "--interval", "0.05"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first = json.loads(proc.stdout.readline())
        assert (first["ok"], first["addr"]) == (True, f"127.0.0.1:{live.port}")
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0
        printed = [first, *(json.loads(line) for line in proc.stdout.read().splitlines())]
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    written = [json.loads(line) for line in log.read_text().splitlines()]
    assert written[0]["t"] == 1.0
    assert written[1:] == printed
    assert len(printed) >= 3
    assert all(r["ok"] for r in printed)


# ---------------------------------------------------------------- summary


def line(t: float, ok: bool = True, ms: float = 100.0, error: str | None = None) -> str:
    return json.dumps({"t": t, "ok": ok, "ms": ms, "addr": None if not ok else "10.0.1.5:8080", "error": error})


# Requests from t=10 to t=14, one per second, each 100 ms long; the one at t=12 failed.
LOG = [line(10.0), line(11.0), line(12.0, ok=False, ms=2000.0, error="x"), line(13.0), line(14.0)]


@pytest.mark.parametrize(
    ("since", "until", "counted"),  # counted: requests, failed, first, last
    [
        (None, None, (5, 1, 10.0, 14.0)),
        (11.0, 13.0, (3, 1, 11.0, 13.0)),  # both ends inclusive
        (11.05, 12.95, (2, 1, 11.0, 12.0)),  # in flight at since: 11.0 + 0.1 s reaches 11.05
        (11.2, 12.95, (1, 1, 12.0, 12.0)),  # the request at 11.0 ended at 11.1, before the window
        (13.5, None, (2, 1, 12.0, 14.0)),  # the failed one ran from 12.0 to 14.0: in flight at 13.5
        (14.05, None, (1, 0, 14.0, 14.0)),
        (None, 9.99, (0, 0, None, None)),  # nothing had started yet
        (14.2, 20.0, (0, 0, None, None)),  # everything had ended
    ],
)
def test_summary_counts_the_requests_in_flight_during_the_window(since, until, counted):
    result = probe.summarize(LOG, since, until)
    assert (result["requests"], result["failed"], result["first"], result["last"]) == counted
    assert len(result["failures"]) == counted[1]


def test_summary_lists_the_first_20_failures_as_written_and_counts_all():
    lines = [line(float(t), ok=False, error=f"failure {t}") for t in range(25)]
    result = probe.summarize([line(-1.0), *lines])
    assert (result["requests"], result["failed"]) == (26, 25)
    assert [r["error"] for r in result["failures"]] == [f"failure {t}" for t in range(20)]
    assert result["failures"][0] == json.loads(lines[0])


def test_summary_counts_unreadable_lines_apart():
    cut = line(15.0)[:20]  # the last line of a probe that was killed while writing
    result = probe.summarize([*LOG, "", '"a string"', '{"t": "soon", "ok": true, "ms": 1}', cut])
    assert (result["requests"], result["unreadable"]) == (5, 3)


def test_summary_command_prints_one_json_object(tmp_path):
    log = tmp_path / "probe.jsonl"
    log.write_text("\n".join(LOG) + "\n")
    done = subprocess.run(
        [sys.executable, str(PROBE), "summary", str(log), "--since", "11.5", "--until", "12.5"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == {
        "requests": 1,
        "failed": 1,
        "first": 12.0,
        "last": 12.0,
        "unreadable": 0,
        "failures": [json.loads(LOG[2])],
    }


def test_summary_of_a_missing_file_says_so(tmp_path):
    command = [sys.executable, str(PROBE), "summary", str(tmp_path / "none")]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "probe.py: cannot read " in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "f", "--interval", "0"], "must be seconds above 0, got '0'"),
        (["run", "f", "--url", "hello-world:8080"], "must be an http:// or https:// URL, got 'hello-world:8080'"),
        (["summary", "f", "--since", "soon"], "invalid float value: 'soon'"),
        ([], "the following arguments are required"),
    ],
)
def test_bad_arguments_name_the_value(args, message, capsys):
    with pytest.raises(SystemExit) as caught:
        probe.main(args)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err
