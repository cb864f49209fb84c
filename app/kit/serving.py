"""Several worker processes on one port, each with its own listening socket.

uvicorn's `--workers N` binds one socket in the parent and every worker accepts from it. The
worker whose event loop wakes first accepts every connection waiting, so a client that opens
its connections together (a partner's pool, a load balancer, wrk) can land them all on one
worker while the others idle: in `bench/load` at 16 connections and 2 workers, all 16 were
on one worker (`ss -tnp`), with the latency of one worker.

Here each worker gets a socket of its own, all bound to the same address with
`SO_REUSEPORT`, and the kernel spreads new connections across them by a hash of the
connection's addresses. The supervision is uvicorn's own (`Multiprocess`: health checks,
a dead worker replaced, SIGHUP restarts, SIGTERM stops); only the socket each worker is
started with differs. The sockets listen from the start, and a replacement takes over its
predecessor's socket, so the connections queued there are served. Linux only (elsewhere `SO_REUSEPORT` does not spread
connections, or does not exist); elsewhere `serve` keeps uvicorn's shared socket.

`SO_REUSEPORT` also lets a second server of the same user bind the same port and take half
its connections silently, so the port is first bound without it: a port in use by anyone
stops `serve` with "address already in use", as uvicorn's own bind does."""

from __future__ import annotations

import logging
import socket
import sys

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import Multiprocess, Process

HAS_REUSEPORT = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")
logger = logging.getLogger("uvicorn.error")


def check_free(host: str, port: int) -> None:
    """OSError (EADDRINUSE) if anything listens on `host:port`, a server of ours included:
    a socket bound without SO_REUSEPORT cannot join their group."""
    _bound(host, port, reuseport=False).close()


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A socket bound to `host:port` beside others (SO_REUSEPORT); each worker listens on its own."""
    sock = _bound(host, port, reuseport=True)
    sock.set_inheritable(True)
    return sock


def _bound(host: str, port: int, *, reuseport: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT, as uvicorn
        if reuseport:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class SpreadMultiprocess(Multiprocess):
    """uvicorn's supervisor, worker `i` always started with socket `i`."""

    def __init__(self, config: Config) -> None:
        if config.port != 0:
            check_free(config.host, config.port)
        first = reuseport_socket(config.host, config.port)
        port = first.getsockname()[1]  # the port chosen, when asked for port 0
        self.slots = [first] + [
            reuseport_socket(config.host, port) for _ in range(config.workers - 1)
        ]
        for sock in self.slots:
            # Listening from the start: every socket is in the kernel's group at once, and a
            # connection hashed to a worker still starting (or being replaced) waits in its
            # socket's queue for it instead of all going to the first worker up.
            sock.listen(config.backlog)
        logger.info("Listening on %s:%s, one socket per worker (SO_REUSEPORT)", config.host, port)
        super().__init__(config, sockets=[])

    def _start(self, idx: int) -> Process:
        process = Process(self.config, [self.slots[idx]])
        process.start()
        return process

    def init_processes(self) -> None:
        self.processes = [self._start(idx) for idx in range(self.processes_num)]

    def keep_subprocess_alive(self) -> None:
        """uvicorn's check, with the dead worker's replacement on the dead worker's socket."""
        if self.should_exit.is_set():
            return
        for idx, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # hung, or already gone
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                # it never served: the app or the socket is broken, and a new one would be too
                logger.error("Child process [%s] failed to start, stopping.", process.pid)
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            logger.info("Child process [%s] died", process.pid)
            self.processes[idx] = self._start(idx)

    def restart_all(self) -> None:
        """SIGHUP: each worker replaced in turn, the new one serving before the old stops."""
        for idx, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self._start(idx)
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                return
            old.terminate()
            old.join()
            self.processes[idx] = new

    def run(self) -> None:
        try:
            super().run()
        finally:
            for sock in self.slots:
                sock.close()
