"""The embedded PostgreSQL (app.kit.embedded), from scratch in a temporary folder, as a
first-time user meets it: no CREDITDESK_ variable set, real `creditdesk` processes, a real
HTTP request. The server starts on first use, is shared by the processes that run at the
same time, stops when the last of them exits, and one that cannot start is one line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.waiting import wait_until

BIN = Path(sys.executable).parent
CREDITDESK = str(BIN / "creditdesk")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITDESK_")}
    return env | {"CREDITDESK_PERIODIC_TASKS_ENABLED": "false", **extra}


def _run(folder: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CREDITDESK, *args], cwd=folder, env=_env(**extra),
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def _postmaster(folder: Path) -> int | None:
    """The pid of the server running on `folder`'s data, if one is."""
    pid_file = folder / ".creditdesk" / "postgres" / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


@pytest.fixture
def served(home_folder: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = free_port()
    log = (home_folder / "serve.log").open("w")
    server = subprocess.Popen(
        [CREDITDESK, "serve", "--port", str(port)],
        cwd=home_folder, env=_env(), stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (home_folder / "serve.log").read_text()
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "serve did not become ready"
            time.sleep(0.2)  # polling for readiness, not waiting out a race
        yield server, url
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=60)
        log.close()


def test_first_use_creates_migrates_and_stops_the_server(home_folder: Path) -> None:
    migrated = _run(home_folder, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "database is at the latest migration" in migrated.stderr
    assert (home_folder / ".creditdesk" / "postgres" / "PG_VERSION").is_file()  # initdb ran
    assert _postmaster(home_folder) is None  # stopped with the command that started it

    again = _run(home_folder, "migrate")  # the same data, started again
    assert again.returncode == 0, again.stderr
    assert _postmaster(home_folder) is None


def test_serve_shares_its_server_with_a_second_command_and_stops_it_at_exit(
    home_folder: Path, served: tuple[subprocess.Popen[str], str]
) -> None:
    server, url = served
    # The server answers before its pid file can be read whole on a loaded machine (one CI
    # run of five saw none): wait for it rather than read it once.
    running = wait_until(lambda: _postmaster(home_folder), "the embedded server's pid file")

    created = _run(home_folder, "keys", "create", "--role", "admin", "--name", "first-use")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert _postmaster(home_folder) == running  # joined, not restarted, and still up

    request = urllib.request.Request(f"{url}/v1/packs", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200
        assert b'"single"' in answer.read()

    server.terminate()  # SIGTERM: uvicorn's graceful shutdown, then the exit handlers
    server.wait(timeout=60)
    wait_until(lambda: _postmaster(home_folder) is None, "the embedded server to stop")


START = """
import sys
from pathlib import Path
from app.kit import embedded
print(embedded.database_url(Path(sys.argv[1])))
"""


def test_processes_starting_at_once_share_one_server(home_folder: Path) -> None:
    folder = home_folder / "data"
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", START, str(folder)],
            cwd=home_folder,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [start.communicate(timeout=180) for start in starts]
    assert [start.returncode for start in starts] == [0, 0, 0], results
    urls = {out.strip() for out, _ in results}
    assert len(urls) == 1 and f"host={folder}".replace("/", "%2F") in urls.pop()
    assert not (folder / "postmaster.pid").exists()  # the last one out stopped it


def test_a_server_that_cannot_start_is_one_line(home_folder: Path) -> None:
    (home_folder / "a-file").write_text("")
    refused = _run(home_folder, "migrate", CREDITDESK_EMBEDDED_DIR="a-file/postgres")
    assert refused.returncode == 1
    assert refused.stderr.startswith("Error: the embedded PostgreSQL in "), refused.stderr
    assert "could not start" in refused.stderr and "CREDITDESK_DATABASE_URL" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr


def test_a_database_url_that_is_not_postgres_is_one_line(home_folder: Path) -> None:
    refused = _run(
        home_folder, "migrate", CREDITDESK_DATABASE_URL="sqlite+aiosqlite:///./secret.db"
    )
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "CREDITDESK_DATABASE_URL" in refused.stderr and "postgresql+asyncpg://" in refused.stderr
    assert "secret" not in refused.stderr
    assert not (home_folder / ".creditdesk").exists()  # no embedded server was started
