# syntax=docker/dockerfile:1
# Medic's container image: one image for every role, the command picks it:
#   medic up (default: everything in one process on SQLite in /data), medic migrate,
#   medic api [--workers N], medic worker, medic scheduler.
# The builder stage builds the wheel; the runtime stage installs only that wheel (no
# checkout) into /opt/medic and runs as uid 10001 with a read-only root filesystem
# (docker run --read-only): /data (the SQLite database and its secrets key file) and
# /tmp are the only writable paths, both volumes.
# scripts/check-wheel performs these steps away from Docker (CI has no engine): it builds
# the wheel from the context .dockerignore leaves, installs it with the same
# deploy/container/install-wheel, and runs migrate, up and the HEALTHCHECK command with
# the ENV, USER and WORKDIR below; tests/deploy/test_image.py checks the rest.

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --disable-pip-version-check --no-deps -w /dist . \
 && cp deploy/container/install-wheel /dist/

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/medic/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/data \
    TMPDIR=/tmp \
    MEDIC_SQLITE_PATH=/data/medic.db \
    HOST=0.0.0.0 \
    PORT=8080
RUN groupadd --system --gid 10001 medic \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin medic \
 && install -d -o 10001 -g 10001 -m 0700 /data
# The wheel and the install step come from the builder through a read-only mount: no
# file of the checkout is copied into this stage, and no wheel stays in a layer.
RUN --mount=type=bind,from=builder,source=/dist,target=/dist \
    sh /dist/install-wheel /opt/medic /dist/*.whl
USER 10001:10001
WORKDIR /data
VOLUME ["/data", "/tmp"]
EXPOSE 8080
# Python, not curl (a slim image has none); roles without HTTP (worker, scheduler)
# replace it, see deploy/compose.yaml.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live' % os.environ.get('PORT', '8080'), timeout=4)"]
ENTRYPOINT ["medic"]
CMD ["up"]
