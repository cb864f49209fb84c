"""uvicorn's HTTP protocol (httptools), with each response sent in one write.

uvicorn writes a response's status line and headers when the app sends
`http.response.start`, then its body when it sends `http.response.body`: two `write()`
system calls per response, and a client that wakes on the first only to wait for the
second. Under load on a virtual machine, where each system call and each wake-up of another
process costs a trip to the hypervisor, `write` was the largest single item in the
server's profile (`py-spy --native` on a worker in `bench/load`: 39 % of its samples in
libc's `write`, for the answer and the query to PostgreSQL).

`CoalescingHttpToolsProtocol` hands uvicorn's protocol a transport that collects what is
written in one turn of the event loop and sends it at the end of that turn, in one write:
a whole small response (head and body) leaves together. The order of the bytes is kept;
anything that closes, aborts or half-closes the connection sends what was collected first;
flow control, addresses and the rest are the real transport's. A streamed response still
leaves chunk by chunk (each await of the app ends a turn).

`creditdesk serve` uses it (`http=` in uvicorn's configuration)."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

PROTOCOL = "app.kit.protocol:CoalescingHttpToolsProtocol"  # for uvicorn's `http` option


class CoalescingTransport:
    """A transport whose writes in one turn of the event loop go out as one write."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        """Sends what was collected, if anything (a closed transport drops it, as it
        drops any write)."""
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        # an upgrade (WebSocket) takes the connection over from here: nothing held back
        self.flush()
        self._transport.set_protocol(protocol)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, pause_reading…
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        wrapped = CoalescingTransport(transport, self.loop)
        super().connection_made(wrapped)  # type: ignore[arg-type]
