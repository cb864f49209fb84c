"""The `creditdesk` command."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import DBAPIError

from app.features import FEATURES, wire_subscriptions
from app.kit import embedded, migrations, registry, serving
from app.kit.cli import load_settings
from app.kit.observability import MULTIPROC_ENV, prepare_multiprocess_dir
from app.kit.protocol import PROTOCOL
from app.settings import Settings


def _migrate(settings: Settings) -> None:
    try:
        migrations.upgrade(embedded.url_of(settings))
    except (DBAPIError, OSError) as exc:
        raise click.ClickException(
            f"migration failed: {getattr(exc, 'orig', None) or exc}"
        ) from exc


def _version() -> str:
    from app.kit.openapi import API_VERSION, server_version

    return f"creditdesk {server_version()} (API v1, contract {API_VERSION})"


@click.group()
@click.version_option(message="%(version)s", version=_version(), package_name="creditdesk")
def main() -> None:
    """CreditDesk: prepaid support credits and a two-line support desk."""
    wire_subscriptions()


@main.command()
def migrate() -> None:
    """Apply pending database migrations."""
    _migrate(load_settings())
    click.echo("database is at the latest migration", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--no-migrate", is_flag=True, help="Do not apply pending migrations first.")
@click.option(
    "--metrics-dir",
    envvar="CREDITDESK_METRICS_DIR",
    type=click.Path(file_okay=False),
    help="With --workers > 1: where the workers keep their metrics (emptied at start; "
    "default: a new temporary directory).",
)
def serve(host: str, port: int, workers: int, no_migrate: bool, metrics_dir: str | None) -> None:
    """Apply pending migrations, then serve the API."""
    import uvicorn

    settings = load_settings()
    # The app factory, in this process or in each worker, connects where this process does
    # (to the embedded server it started, when there is no CREDITDESK_DATABASE_URL).
    os.environ["CREDITDESK_DATABASE_URL"] = embedded.url_of(settings)
    if not no_migrate:
        _migrate(settings)
    if workers > 1:  # one metrics view over all workers (prometheus-client multiprocess)
        # Set here, after this process imported prometheus-client: only the spawned workers
        # run in multiprocess mode (a parent started with PROMETHEUS_MULTIPROC_DIR set
        # was seen to hang before spawning them).
        metrics_dir = metrics_dir or tempfile.mkdtemp(prefix="creditdesk-metrics-")
        prepare_multiprocess_dir(metrics_dir)
        os.environ[MULTIPROC_ENV] = metrics_dir  # inherited by the spawned workers
    options: dict[str, Any] = dict(
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
        proxy_headers=True,
        http=PROTOCOL,  # each response in one write (app.kit.protocol)
        # a worker busy importing on a loaded host is not killed as unresponsive
        timeout_worker_healthcheck=30,
    )
    if workers > 1 and serving.HAS_REUSEPORT:
        # a listening socket per worker, so connections spread over them (app.kit.serving)
        config = uvicorn.Config("app.main:configure_from_env", **options)
        try:
            supervisor = serving.SpreadMultiprocess(config)
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        supervisor.run()
        return
    uvicorn.run("app.main:configure_from_env", **options)


@main.command()
@click.option("--output", "-o", default="openapi/openapi.json", show_default=True)
def openapi(output: str) -> None:
    """Write the OpenAPI document of the API."""
    from app.main import create_app

    settings = load_settings(needs_database=False, _env_file=None, periodic_tasks_enabled=False)
    document = create_app(settings).openapi()
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if output == "-":
        sys.stdout.write(text)
        return
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)


for _command in registry.cli_commands(FEATURES):
    main.add_command(_command)

if __name__ == "__main__":
    main()
