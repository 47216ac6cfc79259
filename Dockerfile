# One image per service: docker build --build-arg SERVICE=registration .
# Installs only that service's locked, hash-checked dependencies; runs as a non-root user.
FROM python:3.11-slim AS build
ARG SERVICE
WORKDIR /src
COPY requirements/ requirements/
RUN python -m venv /venv \
 && /venv/bin/pip install --no-cache-dir --require-hashes -r requirements/build.txt \
 && /venv/bin/pip install --no-cache-dir --require-hashes --no-deps -r requirements/${SERVICE}.txt
COPY shared/ shared/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN /venv/bin/pip install --no-cache-dir --no-deps --no-build-isolation ./shared ./services/${SERVICE}

FROM python:3.11-slim
ARG SERVICE
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 SERVICE=${SERVICE}
COPY --from=build /venv /venv
RUN useradd --system --uid 10001 app
USER app
EXPOSE 8000
CMD ["sh", "-c", "exec uvicorn --factory ${SERVICE}.app:create_app --host 0.0.0.0 --port 8000"]
