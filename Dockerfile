# syntax=docker/dockerfile:1
# One image per service, built from this one file:
#   docker build --build-arg SERVICE=registration -t hackathon-registration .
# (docker compose passes SERVICE for each service). SERVICE is one of registration,
# submissions, scoring, notifications, gateway, web.
#
# Stage "build" makes two virtual environments: /opt/build-tools with the build backend only
# (requirements/build.txt), and /opt/venv with exactly the service's locked, hash-checked
# dependencies (requirements/<service>.txt) plus wheels of the project's own packages (shared
# and the service). Stage "runtime" copies /opt/venv alone: no build tools, no other service's
# code or dependencies, run by an unprivileged user.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<service>" >&2; exit 1; }
COPY requirements/build.txt requirements/${SERVICE}.txt requirements/
RUN python -m venv /opt/build-tools \
 && /opt/build-tools/bin/pip install --require-hashes -r requirements/build.txt \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --no-deps -r "requirements/${SERVICE}.txt"
COPY shared/ shared/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN /opt/build-tools/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels \
      ./shared "./services/${SERVICE}" \
 && /opt/venv/bin/pip install --no-deps --no-index /wheels/*.whl \
 && /opt/venv/bin/python -c "import importlib, os; importlib.import_module(os.environ['SERVICE'] + '.app')"

FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
LABEL org.opencontainers.image.title="hackathon-${SERVICE}" \
      org.opencontainers.image.source="https://github.com/hackathon-platform/hackathon" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SERVICE=${SERVICE} \
    PORT=8000
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /tmp
USER 10001:10001
EXPOSE 8000
# /readyz answers 200 once migrations ran and the database and the broker answer.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ['PORT'], timeout=4)"]
# uvicorn runs the service's lifespan (migrations, topics, consumers, relay) before it binds
# the port, and drains requests for up to 20 s on SIGTERM.
CMD ["sh", "-c", "exec uvicorn --factory \"${SERVICE}.app:create_app\" --host 0.0.0.0 --port \"${PORT}\" --no-access-log --no-proxy-headers --timeout-graceful-shutdown 20"]
