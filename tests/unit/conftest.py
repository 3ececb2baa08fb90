"""Ports on 127.0.0.1 that fail the ways a service's tasks fail, for the apps' and the probe's tests."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port on 127.0.0.1 where a connect gets no answer at all, like a task on a stopped node.

    A listener with backlog 0 whose accept queue is already full: Linux drops further SYNs
    (no RST), so a connect times out. Loopback only, no firewall rule needed.
    """
    with socket.socket() as listener, contextlib.ExitStack() as fillers:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _filler in range(4):  # the queue holds backlog + 1: fill it until a connect goes unanswered
            filler = fillers.enter_context(socket.socket())
            filler.settimeout(0.2)
            try:
                filler.connect(("127.0.0.1", port))
            except TimeoutError:
                break
        else:
            pytest.fail("the accept queue of a backlog-0 listener never filled up")
        yield port
