"""app.kit.protocol: a response leaves in one write; bytes keep their order; closing sends
what was held back. On real sockets and a real uvicorn server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from starlette.types import Receive, Scope, Send

from app.kit.protocol import CoalescingTransport
from tests.conftest import served_in_thread


def _nothing_yet(sock: socket.socket) -> bool:
    try:
        sock.recv(1024, socket.MSG_DONTWAIT)
    except BlockingIOError:
        return True
    return False


def _read_all(sock: socket.socket) -> bytes:
    sock.settimeout(5)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


async def _pair() -> tuple[CoalescingTransport, socket.socket]:
    """Our end of a socket pair as the server's wrapped transport, and the client's end."""
    ours, peer = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
    return CoalescingTransport(transport, loop), peer


async def test_writes_in_one_turn_leave_together_at_its_end() -> None:
    transport, peer = await _pair()
    with peer:
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n")
        transport.write(b"")
        transport.write(memoryview(b"body"))
        assert _nothing_yet(peer), "sent before the turn ended"
        assert transport.get_write_buffer_size() == 42
        await asyncio.sleep(0)  # the turn ends: one write of both
        peer.settimeout(5)
        assert peer.recv(1024) == b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nbody"
        transport.write(b"next")  # a later turn: sent in its own
        await asyncio.sleep(0)
        assert peer.recv(1024) == b"next"
        transport.close()
        await asyncio.sleep(0.01)  # the socket is closed in a later turn
        assert _read_all(peer) == b""


async def test_closing_sends_what_was_held_back_and_abort_drops_it() -> None:
    transport, peer = await _pair()
    with peer:
        transport.writelines([b"last ", b"words"])
        transport.close()
        await asyncio.sleep(0)
        assert _read_all(peer) == b"last words"

    transport, peer = await _pair()
    with peer:
        transport.write(b"never")
        transport.abort()
        await asyncio.sleep(0.05)
        assert _read_all(peer) == b""

    transport, peer = await _pair()
    with peer:
        transport.write(b"half")
        transport.write_eof()
        await asyncio.sleep(0)
        assert _read_all(peer) == b"half"
        transport.close()


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    """Plain ASGI: `/stream` sends three chunks, a turn apart; anything else a short body."""
    assert scope["type"] == "http"
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one,", b"two,", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b""})
        return
    body = scope["path"].encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def server_port() -> Iterator[int]:
    with served_in_thread(_app, lifespan="off") as port:
        yield port


def test_a_real_server_answers_pipelined_and_streamed_requests_in_order(server_port: int) -> None:
    with socket.create_connection(("127.0.0.1", server_port)) as sock:
        # two requests in one packet, then one that closes: three answers in order
        sock.sendall(
            b"GET /first HTTP/1.1\r\nhost: x\r\n\r\nGET /second HTTP/1.1\r\nhost: x\r\n\r\n"
            b"GET /stream HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
        )
        answer = _read_all(sock)
    first, rest = answer.split(b"\r\n\r\n/first", 1)
    assert first.startswith(b"HTTP/1.1 200 OK")
    second, streamed = rest.split(b"\r\n\r\n/second", 1)
    assert second.startswith(b"HTTP/1.1 200 OK")
    assert b"transfer-encoding: chunked" in streamed
    assert streamed.endswith(b"4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n")
