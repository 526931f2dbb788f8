# syntax=docker/dockerfile:1
# The watchdog daemon image: budget alerts for LiteLLM Proxy.
#
#   docker build -t watchdog .
#   docker run --rm -p 9464:9464 \
#     -e WATCHDOG_LITELLM__URL=http://litellm:4000 -e WATCHDOG_LITELLM__MASTER_KEY=sk-... watchdog
#
# Runs as user 10001 on a read-only root filesystem: mount writable volumes at /tmp and
# /var/lib/watchdog (the SQLite store). The Helm chart in deploy/helm/watchdog does both and
# replaces the default config and rules below with ConfigMaps.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/watchdog
COPY pyproject.toml README.md ./
COPY watchdog ./watchdog
RUN /opt/watchdog/bin/pip install . \
 && /opt/watchdog/bin/python -m compileall -q /opt/watchdog/lib \
 && /opt/watchdog/bin/budget-watchdog --version

FROM python:${PYTHON_VERSION}-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="watchdog" \
      org.opencontainers.image.description="Budget alerts for LiteLLM Proxy" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --system --gid 10001 watchdog \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /var/lib/watchdog --shell /usr/sbin/nologin watchdog \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/watchdog

COPY --from=build /opt/watchdog /opt/watchdog
# The repository's rules are the defaults; deployments mount their own over this directory.
COPY rules/ /etc/watchdog/rules/
# Defaults for `docker run`; override any value with WATCHDOG_<FIELD> or
# WATCHDOG_<SECTION>__<FIELD>, or mount a whole file and point WATCHDOG_CONFIG at it.
COPY <<'EOF' /etc/watchdog/watchdog.yaml
litellm:
  url: http://localhost:4000
rules: [/etc/watchdog/rules]
state_file: /var/lib/watchdog/watchdog-state.db
http:
  host: 0.0.0.0
  port: 9464
channels:
  console:
    type: console
routing:
  default: [console]
  meta: [console]
EOF

ENV PATH=/opt/watchdog/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WATCHDOG_CONFIG=/etc/watchdog/watchdog.yaml

USER 10001:10001
WORKDIR /var/lib/watchdog
VOLUME ["/var/lib/watchdog"]
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:9464/health/liveliness', timeout=4)"]

ENTRYPOINT ["budget-watchdog"]
CMD ["run"]
