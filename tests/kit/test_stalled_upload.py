"""A stalled upload (Content-Length 100, one byte sent) is answered 408 and closed instead
of holding a connection forever (issue 12). A real uvicorn server and a raw socket."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from app.main import create_app
from app.settings import Settings
from tests.conftest import served_in_thread


@pytest.fixture
def served(database_url: str) -> Iterator[int]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test", database_url=database_url, periodic_tasks_enabled=False, log_json=False,
        body_read_timeout_seconds=1,
    )  # fmt: skip
    with served_in_thread(create_app(settings)) as port:
        yield port


def test_a_stalled_upload_is_answered_408_and_closed(served: int) -> None:
    with socket.create_connection(("127.0.0.1", served), timeout=20) as sock:
        sock.sendall(
            b"POST /v1/customers HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer cdk_x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        received = b""
        while chunk := sock.recv(4096):  # the server closes the connection after answering
            received += chunk
    assert received.startswith(b"HTTP/1.1 408"), received
    assert b"request_timeout" in received
