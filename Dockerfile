# synthpay container image: the original generator's environment variables and /app/.env,
# plus /metrics, /healthz and /readyz on port 8080. Build: docker build -t synthpay .
# Stop with time for the shutdown grace (20 s) and the final flush: docker stop -t 60.
# BASE_IMAGE: any Debian-like image with python3.11+ as `python` and python3-venv; CI builds
# on a local debootstrapped bookworm (scripts/deploy-check) because it reaches no registry.
ARG BASE_IMAGE=python:3.11.13-slim-bookworm

# --- build: a virtualenv at its final path, with synthpay installed from a wheel
FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY avro ./avro
COPY synthpay ./synthpay
RUN python -m venv /opt/synthpay \
 && /opt/synthpay/bin/pip wheel --no-deps --wheel-dir /tmp/wheels . \
 && /opt/synthpay/bin/pip install /tmp/wheels/synthpay-*.whl

# --- runtime: the same base (the venv's python links to it), the venv and the config only
FROM ${BASE_IMAGE}
COPY --from=build /opt/synthpay /opt/synthpay
COPY config.toml /etc/synthpay/config.toml
# /app is the working directory, as in the original image: ./.env is read from here, and
# the file sink (no Kafka configured) writes ./out here. The image is meant to run with a
# read-only root filesystem, so ./out is a volume (owned by the user, which Docker copies
# into a new volume); mount a named volume there to keep the files.
RUN install -d -o 10001 -g 10001 -m 0750 /app /app/out
WORKDIR /app
VOLUME ["/app/out"]
ENV PATH=/opt/synthpay/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SYNTHPAY_CONFIG=/etc/synthpay/config.toml \
    SYNTHPAY_HTTP_PORT=8080
USER 10001:10001
EXPOSE 8080
# No curl in slim images: the venv's Python asks /healthz (non-2xx raises, exit 1).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/opt/synthpay/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SYNTHPAY_HTTP_PORT', '8080'), timeout=4)"]
# Exec form: synthpay is PID 1 and receives SIGTERM itself. Arguments after the image
# name are flags of `synthpay run`.
ENTRYPOINT ["/opt/synthpay/bin/synthpay", "run"]
