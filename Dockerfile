# syntax=docker/dockerfile:1
# The one image of the platform. Its entrypoint is `dora`; the command picks the role:
#   worker            dora worker --pool dora-k8s --type kubernetes ...   (k8s/base/worker)
#   webhook receiver  dora webhook serve --host 0.0.0.0 --port 8080     (k8s/base/webhook)
#   flow run (job)    the kubernetes work pool sets the command itself
#                     (python -m prefect.engine) and the pull step cd's to /opt/dora.
#
# Built for a read-only root filesystem: everything written at run time goes to /tmp,
# PREFECT_HOME (/var/lib/prefect) or DORA_REPORTS_DIR (/var/lib/dora/reports), which the
# manifests mount as emptyDir volumes. Runs as uid/gid 10001 (the work-pool template and
# the manifests set the same ids).
#
# Build:  docker build -t ghcr.io/dora-compliance/dora-workflows:1.0.0 .
# Run:    docker run --read-only --tmpfs /tmp -v dora-prefect:/var/lib/prefect \
#           -e PREFECT_API_URL=... -e DORA_HEALTH_PORT=9090 IMAGE worker --host 0.0.0.0

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# ---------------------------------------------------------------- builder
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# compilers only here, for any dependency without a wheel; the final stage has none
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /opt/dora
COPY pyproject.toml README.md prefect.yaml sources.yaml ./
COPY dora/ dora/
COPY flows/ flows/
COPY tasks/ tasks/
COPY agents/ agents/
COPY blocks/ blocks/
COPY definitions/ definitions/
COPY schemas/ schemas/
COPY examples/ examples/
COPY k8s/work-pool/ k8s/work-pool/
# editable install: the code stays at /opt/dora, which is PROJECT_ROOT (definitions/,
# agents/config/ are found next to the packages) and the deployments' working directory
RUN pip install --upgrade "pip>=24" \
 && pip install -e . \
 && python -m compileall -q /opt/dora /opt/venv
# Prefect's logging config with dora.logs.JsonFormatter: worker, webhook and flow-run
# containers all log JSON lines with run ids (PREFECT_LOGGING_SETTINGS_PATH below)
RUN python -c "from pathlib import Path; from dora.logs import prefect_logging_config; \
prefect_logging_config(Path('/opt/dora/prefect-logging-json.yml'))"

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="dora-workflows" \
      org.opencontainers.image.description="DORA compliance workflows on Prefect: worker, webhook receiver, flow runs" \
      org.opencontainers.image.source="https://github.com/dora-compliance/dora-workflows"
RUN groupadd --system --gid 10001 dora \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
      --shell /usr/sbin/nologin dora \
 && mkdir -p /var/lib/prefect /var/lib/dora/reports \
 && chown -R 10001:10001 /var/lib/prefect /var/lib/dora
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /opt/dora /opt/dora
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    MPLCONFIGDIR=/tmp/matplotlib \
    PREFECT_HOME=/var/lib/prefect \
    DORA_HOME=/var/lib/dora \
    DORA_REPORTS_DIR=/var/lib/dora/reports \
    DORA_LOG_FORMAT=json \
    PREFECT_LOGGING_SETTINGS_PATH=/opt/dora/prefect-logging-json.yml
WORKDIR /opt/dora
USER 10001:10001
VOLUME ["/tmp", "/var/lib/prefect", "/var/lib/dora"]
EXPOSE 8080 9090
# worker (9090) and webhook (8080) serve /health; set DORA_HEALTH_PORT to the one this
# container runs. A flow-run container has no port and reports healthy while it runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; p = os.environ.get('DORA_HEALTH_PORT'); sys.exit(0 if not p or urllib.request.urlopen(f'http://127.0.0.1:{p}/health', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["dora"]
CMD ["--help"]
