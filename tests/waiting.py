"""Waiting in tests: for a condition, never for a fixed time. A loaded machine (a load
average above 8 on 2 cores) makes everything several times slower, and a test must then
wait longer, not fail: each wait polls its condition until a generous deadline and, if it
passes, says what it waited for. A condition that already holds costs nothing."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

T = TypeVar("T")

# Seconds: what a loaded 2-core machine needs for the slowest wait here (a server spawning
# two workers that each import the whole app), with room to spare.
DEADLINE = 120.0
# Seconds one request to a server under test may take there (a hang still fails).
REQUEST_TIMEOUT = 60.0


def wait_until(
    condition: Callable[[], T], what: str, *, within: float = DEADLINE, every: float = 0.1
) -> T:
    """Calls `condition` until it returns a true value, and returns that value; fails the
    test after `within` seconds, naming `what` it waited for."""
    deadline = time.monotonic() + within
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"waited {within:.0f} s for {what}")
        time.sleep(every)
    return result


async def until(
    condition: Callable[[], Awaitable[T]],
    what: str,
    *,
    within: float = DEADLINE,
    every: float = 0.1,
) -> T:
    """`wait_until` for an async condition, sleeping on the event loop."""
    deadline = time.monotonic() + within
    while not (result := await condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"waited {within:.0f} s for {what}")
        await asyncio.sleep(every)
    return result


def wait_until_serving(
    process: subprocess.Popen[bytes], url: str, what: str, log: Path | None = None
) -> None:
    """Polls `url` until it answers 200 (each try may itself take seconds on a loaded
    machine); fails, with the process's log, when the process exits first or when
    DEADLINE passes (then the process is killed)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode} before serving:\n{_text(log)}")
        try:
            if httpx.get(url, timeout=10).status_code == 200:
                return
        except httpx.TransportError:  # not listening yet, or too slow to answer this time
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"waited {DEADLINE:.0f} s for {what} to serve {url}:\n{_text(log)}")
        time.sleep(0.2)


def _text(log: Path | None) -> str:
    return log.read_text(errors="replace") if log is not None else ""
