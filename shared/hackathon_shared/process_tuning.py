"""Process-wide tuning shared by every HTTP process of the project (the services and the
gateway). Each item was measured (docs/benchmarks.md)."""

from __future__ import annotations

import gc

from fastapi.telemetry import TelemetryConfig

NO_FASTAPI_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
"""FastAPI's own OpenTelemetry instrumentation, off. The project measures itself with
Prometheus metrics (``hackathon_shared.metrics``) and request ids in its logs; FastAPI
0.165's native telemetry, on by default, looked up the OpenTelemetry providers and the
environment on every request to find that none was set up: 1.6 % of a busy service's CPU."""


def freeze_startup_objects() -> None:
    """Move what start-up made (modules, the app, SQLAlchemy's and pydantic's structures:
    most of a process's objects) out of the garbage collector's sight, once start-up is
    done. A collection, which allocation-heavy work such as decoding a batch of events
    triggers often, then walks only what was made since."""
    gc.collect()
    gc.freeze()
