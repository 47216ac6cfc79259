"""Public API v1 model of a 202 write's status monitor (hackathon_shared.delivery_monitor)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

PUBLIC_PREFIX = "/api/v1"
"""Where the gateway serves the public API v1: its routes, and the monitor link of a 202."""


class DeliveryView(BaseModel):
    """Whether a ``202`` write's events have reached the log."""

    delivery_id: str
    state: Literal["pending", "delivered"] = Field(
        description="`delivered` once every event of the write is in the log: from then on "
        "every service's answers include the write"
    )
