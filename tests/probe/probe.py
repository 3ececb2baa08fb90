"""The disruption tests' client: asks a URL over and over and records what a client saw.

    python3 probe.py run FILE [--url URL] [--interval S] [--deadline S] [--connect-timeout S] [--expect BODY]
    python3 probe.py summary FILE [--since T] [--until T]

``run`` asks URL (default http://hello-world:8080/) every ``--interval`` seconds (0.25), one
request at a time: when a request takes longer, the next one starts as soon as it is done.
Each request resolves the URL's host anew (``getaddrinfo``, no cache: with Swarm's
``endpoint_mode: dnsrr`` the name has one address per task, and they change as tasks move)
and tries its IPv4/IPv6 addresses once each in a random order, as hello-world does (so the
requests spread over the tasks): ``--connect-timeout`` (0.5 s) to connect, the rest of the
deadline for the answer, and on to the next address at once when the connect is refused or
unanswered, or the answer is not 200 with the body ``--expect`` ("Hello World", compared
without surrounding white space). The request failed when no address gave that answer
within ``--deadline`` (2 s) from its start; nothing is retried, so a failure is what a
client trying each address once would have seen.

Each request is one JSON line, appended to FILE (flushed at once) and printed to stdout::

    {"t": 1764651600.25, "ok": true, "ms": 3.1, "addr": "10.0.1.5:8080", "error": null}

``t``: when it started (Unix time); ``ms``: how long it took; ``addr``: the address that
answered (null when none did); ``error``: why each address failed (null when ok). SIGTERM
or SIGINT: the request in flight finishes and is written, then the probe exits 0.

``summary`` prints one JSON object about the requests of FILE in flight at some moment of
[``--since``, ``--until``] (Unix times; open-ended when left out), i.e. those with
``t <= until`` and ``t + ms / 1000 >= since``::

    {"requests": 8, "failed": 1, "first": T, "last": T, "unreadable": 0, "failures": [...]}

``first``/``last``: the smallest and largest ``t`` counted (null without requests);
``failures``: the first 20 failed lines, as written; ``unreadable``: lines that are not a
request (a line cut short by a kill), left out of the counts.

Standard library only, Python 3.8 or later: it is copied into a container as this one file.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import signal
import socket
import ssl
import sys
import threading
import time
from typing import IO, Any, Callable, Iterable, Iterator, List, Tuple
from urllib.parse import SplitResult, urlsplit

DEFAULT_URL = "http://hello-world:8080/"
DEFAULT_EXPECT = "Hello World"
MAX_BODY = 64 * 1024
MAX_FAILURES = 20
DEFAULT_PORTS = {"http": 80, "https": 443}

# (family, sockaddr) as getaddrinfo() gives them; host, port -> the addresses to try, in order.
Address = Tuple[int, Tuple[Any, ...]]
Resolver = Callable[[str, int], List[Address]]


class Failed(Exception):
    """One address did not give the expected answer; the message says why."""


# ---------------------------------------------------------------- one request


def resolve(host: str, port: int) -> list[Address]:
    """Every IPv4 and IPv6 address of ``host``, asked anew, without duplicates, in a random order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Failed(f"cannot resolve {host}: {exc}") from exc
    wanted = (socket.AF_INET, socket.AF_INET6)
    addresses = list(dict.fromkeys((info[0], info[4]) for info in infos if info[0] in wanted))
    random.shuffle(addresses)
    return addresses


def show(address: Address) -> str:
    family, sockaddr = address
    return f"[{sockaddr[0]}]:{sockaddr[1]}" if family == socket.AF_INET6 else f"{sockaddr[0]}:{sockaddr[1]}"


def _connect(address: Address, timeout: float) -> socket.socket:
    family, sockaddr = address
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(sockaddr)
    except socket.timeout as exc:  # not yet TimeoutError on Python 3.8 and 3.9
        sock.close()
        raise Failed("connect timed out") from exc
    except OSError as exc:
        sock.close()
        raise Failed(str(exc) or type(exc).__name__) from exc
    return sock


def _send(connection: http.client.HTTPConnection, parts: SplitResult) -> None:
    if parts.scheme == "https":
        context = ssl.create_default_context()
        connection.sock = context.wrap_socket(connection.sock, server_hostname=parts.hostname)
    path = parts.path or "/"
    headers = {"Host": parts.netloc.rpartition("@")[2], "User-Agent": "swarmops-probe"}
    connection.request("GET", f"{path}?{parts.query}" if parts.query else path, headers=headers)


def ask(parts: SplitResult, address: Address, connect_timeout: float, read_timeout: float, expect: str) -> None:
    """One GET of the URL sent to ``address`` (Host: the URL's); Failed unless 200 with the body ``expect``."""
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
    connection.sock = _connect(address, connect_timeout)
    connection.sock.settimeout(read_timeout)
    try:
        _send(connection, parts)
        answer = connection.getresponse()
        body = answer.read(MAX_BODY).decode("utf-8", "replace").strip()
    except socket.timeout as exc:
        raise Failed("read timed out") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise Failed(str(exc) or type(exc).__name__) from exc
    finally:
        connection.close()
    if answer.status != 200:
        raise Failed(f"HTTP {answer.status}")
    if body != expect:
        raise Failed(f"unexpected body {body[:60]!r}")


class Probe:
    """How to ask: the URL, the answer expected and the time limits of one request."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        expect: str = DEFAULT_EXPECT,
        deadline: float = 2.0,
        connect_timeout: float = 0.5,
        resolver: Resolver = resolve,
    ) -> None:
        self.parts = urlsplit(url)
        self.expect = expect
        self.deadline = deadline
        self.connect_timeout = connect_timeout
        self.resolver = resolver

    def _answering(self, until: float, errors: list[str]) -> str | None:
        """The first address that answers as expected before ``until`` (monotonic); None, with ``errors``."""
        port = self.parts.port or DEFAULT_PORTS.get(self.parts.scheme, 80)
        addresses = self.resolver(self.parts.hostname or "", port)
        if not addresses:
            errors.append(f"{self.parts.hostname} has no IPv4 or IPv6 address")
        for address in addresses:
            remaining = until - time.monotonic()
            if remaining <= 0:
                errors.append(f"deadline of {self.deadline:g} s passed")
                break
            try:
                ask(self.parts, address, min(self.connect_timeout, remaining), remaining, self.expect)
                return show(address)
            except Failed as exc:
                errors.append(f"{show(address)} {exc}")
        return None

    def once(self) -> dict[str, Any]:
        """One request: its JSON record (see the module docstring)."""
        t = time.time()
        started = time.monotonic()
        errors: list[str] = []
        try:
            addr = self._answering(started + self.deadline, errors)
        except Failed as exc:
            addr = None
            errors.append(str(exc))
        ms = round((time.monotonic() - started) * 1000, 1)
        ok = addr is not None
        return {"t": round(t, 3), "ok": ok, "ms": ms, "addr": addr, "error": None if ok else "; ".join(errors)}


# ---------------------------------------------------------------- run


def run(probe: Probe, out: IO[str], interval: float, stop: threading.Event, echo: IO[str] | None = None) -> int:
    """Requests every ``interval`` seconds until ``stop`` is set, each one a line of ``out`` (and ``echo``)."""
    count = 0
    next_at = time.monotonic()
    while not stop.is_set():
        line = json.dumps(probe.once())
        for stream in (out, echo):
            if stream is not None:
                stream.write(line + "\n")
                stream.flush()
        count += 1
        next_at = max(next_at + interval, time.monotonic())
        stop.wait(next_at - time.monotonic())
    return count


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


# ---------------------------------------------------------------- summary


def records(lines: Iterable[str]) -> Iterator[dict[str, Any] | None]:
    """Each line as a request record, None for a line that is not one."""
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            yield None
            continue
        valid = (
            isinstance(record, dict)
            and isinstance(record.get("t"), (int, float))
            and isinstance(record.get("ms"), (int, float))
            and isinstance(record.get("ok"), bool)
        )
        yield record if valid else None


def in_window(record: dict[str, Any], since: float | None, until: float | None) -> bool:
    """Whether the request was in flight at some moment of [since, until]."""
    start = float(record["t"])
    end = start + float(record["ms"]) / 1000
    return (until is None or start <= until) and (since is None or end >= since)


def summarize(lines: Iterable[str], since: float | None = None, until: float | None = None) -> dict[str, Any]:
    requests = failed = unreadable = 0
    first: float | None = None
    last: float | None = None
    failures: list[dict[str, Any]] = []
    for record in records(lines):
        if record is None:
            unreadable += 1
            continue
        if not in_window(record, since, until):
            continue
        requests += 1
        t = record["t"]
        first = t if first is None else min(first, t)
        last = t if last is None else max(last, t)
        if not record["ok"]:
            failed += 1
            if len(failures) < MAX_FAILURES:
                failures.append(record)
    return {
        "requests": requests,
        "failed": failed,
        "first": first,
        "last": last,
        "unreadable": unreadable,
        "failures": failures,
    }


# ---------------------------------------------------------------- command line


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be seconds above 0, got {text!r}")
    return value


def _url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise argparse.ArgumentTypeError(f"must be an http:// or https:// URL, got {text!r}")
    return text


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="probe.py", description="Ask a URL over and over; summarize what it saw.")
    modes = main.add_subparsers(dest="mode", metavar="{run,summary}")
    modes.required = True
    ask_ = modes.add_parser("run", help="ask until SIGTERM, one JSON line per request to FILE and stdout")
    ask_.add_argument("file", metavar="FILE", help="where to append the JSON lines")
    ask_.add_argument("--url", type=_url, default=DEFAULT_URL, help=f"what to ask (default {DEFAULT_URL})")
    ask_.add_argument("--interval", type=_positive, default=0.25, help="seconds between requests (0.25)")
    ask_.add_argument("--deadline", type=_positive, default=2.0, help="seconds one request may take (2)")
    ask_.add_argument("--connect-timeout", type=_positive, default=0.5, help="seconds per connect (0.5)")
    ask_.add_argument("--expect", default=DEFAULT_EXPECT, help=f"the body a good answer has ({DEFAULT_EXPECT!r})")
    summary = modes.add_parser("summary", help="count the requests of FILE and its failures, in a time window")
    summary.add_argument("file", metavar="FILE", help="a file that probe.py run wrote")
    summary.add_argument("--since", type=float, default=None, help="window start, Unix time")
    summary.add_argument("--until", type=float, default=None, help="window end, Unix time")
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.mode == "summary":
        try:
            with open(args.file, encoding="utf-8") as lines:
                result = summarize(lines, args.since, args.until)
        except OSError as exc:
            print(f"probe.py: cannot read {args.file}: {exc}", file=sys.stderr)
            return 2
        print(json.dumps(result))
        return 0
    stop = _stop_on_signals()
    probe = Probe(args.url, args.expect, args.deadline, args.connect_timeout)
    with open(args.file, "a", encoding="utf-8") as out:
        run(probe, out, args.interval, stop, echo=sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
