"""The generated-client check: what a partner does with openapi/openapi.json.

1. generate a Python client with openapi-python-client, type-check it and the partner flow
   with `mypy --strict`;
2. serve the API (`creditdesk serve`, free port, a throw-away embedded PostgreSQL in a
   temporary folder unless `--database-url` names one) and run the
   partner flow (clients/python/partner_flow.py) with the generated client;
3. lint the document with Redocly CLI (its recommended rules; 0 errors);
4. generate TypeScript types with openapi-typescript (its default options), build
   clients/typescript/partner.ts and flow.ts with `tsc --strict` (`npm ci` first) and run
   the flow (openapi-fetch, minimal request bodies) against a live server.

Usage: .venv/bin/python clients/check.py [--only python|typescript|redocly]
Exit 0 when every step passed. Run by tests/test_clients.py (and so by `.ci/run`)."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = ROOT / "clients"
DOCUMENT = ROOT / "openapi" / "openapi.json"
BIN = Path(sys.executable).parent
# Operations a generated SDK may leave out, and why.
EXPECTED_GENERATOR_WARNINGS = {
    # the mail relay posts raw RFC 822 messages; partners never call it
    "POST /v1/inbound/email",
}


def run(*command: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    print("+", " ".join(str(c) for c in command), flush=True)
    done = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    print(done.stdout, end="", flush=True)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(str(c) for c in command)}")
    return done.stdout


def generate_python_client(work: Path) -> Path:
    package = work / "creditdesk_client"
    output = run(
        BIN / "openapi-python-client", "generate",
        "--path", DOCUMENT,
        "--config", CLIENTS / "python" / "config.yaml",
        "--meta", "none",
        "--output-path", package,
        cwd=work,
    )  # fmt: skip
    skipped = set(re.findall(r"WARNING parsing (\w+ \S+) within", output))
    unexpected = skipped - EXPECTED_GENERATOR_WARNINGS
    if unexpected or ("Warning" in output and not skipped):
        raise SystemExit(f"openapi-python-client could not generate: {sorted(unexpected)}")
    return package


def type_check_python(work: Path) -> None:
    flow = work / "partner_flow.py"
    shutil.copy(CLIENTS / "python" / "partner_flow.py", flow)
    run(
        BIN / "mypy", "--strict", "--no-incremental", "--cache-dir", work / ".mypy_cache",
        "creditdesk_client", flow.name,
        cwd=work,
    )  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def live_server(work: Path, admin_key: str, database_url: str | None) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITDESK_")}
    if database_url is not None:  # else `serve` starts an embedded server in `work`
        env["CREDITDESK_DATABASE_URL"] = database_url
    env |= {  # no Stripe key: purchases use the offline provider, which pays at once
        "CREDITDESK_BOOTSTRAP_ADMIN_KEY": admin_key,
        "CREDITDESK_PERIODIC_TASKS_ENABLED": "false",
        "CREDITDESK_LOG_LEVEL": "WARNING",
    }
    log = (work / "server.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "creditdesk"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise SystemExit("the server stopped:\n" + (work / "server.log").read_text())
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/readyz", timeout=2) as answer,
            ):
                if answer.status == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("the server did not become ready in 60 s")
            time.sleep(0.3)
        print(f"serving on {url}", flush=True)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def run_partner_flow(work: Path, database_url: str | None) -> None:
    admin_key = "cdk_" + secrets.token_urlsafe(24)
    with live_server(work, admin_key, database_url) as url:
        run(
            sys.executable, work / "partner_flow.py",
            cwd=work,
            env={"CREDITDESK_URL": url, "CREDITDESK_ADMIN_KEY": admin_key, "PYTHONPATH": str(work)},
        )  # fmt: skip


def check_typescript(work: Path, database_url: str | None) -> None:
    """openapi-typescript with its default options, the flow built by `tsc --strict` and
    run with node (openapi-fetch) against a live server."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        raise SystemExit("node and npm are not installed (apt-get install -y nodejs npm)")
    here = CLIENTS / "typescript"
    run(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error", cwd=here)
    run(npm, "run", "--silent", "check", cwd=here)
    admin_key = "cdk_" + secrets.token_urlsafe(24)
    with live_server(work, admin_key, database_url) as url:
        run(
            node, here / "build" / "flow.js",
            cwd=here,
            env={"CREDITDESK_URL": url, "CREDITDESK_ADMIN_KEY": admin_key},
        )  # fmt: skip


def check_redocly() -> None:
    """Redocly CLI's `lint` with its recommended rules: 0 errors (warnings are printed)."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is not installed (apt-get install -y nodejs npm)")
    here = CLIENTS / "typescript"
    run(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error", cwd=here)
    quiet = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}
    run(npm, "run", "--silent", "lint", cwd=here, env=quiet)  # exits non-zero on an error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["python", "typescript", "redocly"])
    parser.add_argument(
        "--database-url",
        help="the live server's database (default: a new embedded PostgreSQL)",
    )
    args = parser.parse_args()
    started = time.monotonic()
    if args.only in (None, "python"):
        with tempfile.TemporaryDirectory(prefix="creditdesk-clients-") as tmp:
            work = Path(tmp)
            generate_python_client(work)
            type_check_python(work)
            run_partner_flow(work, args.database_url)
    if args.only in (None, "redocly"):
        check_redocly()
    if args.only in (None, "typescript"):
        with tempfile.TemporaryDirectory(prefix="creditdesk-clients-ts-") as tmp:
            check_typescript(Path(tmp), args.database_url)
    print(f"clients check: OK in {time.monotonic() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
