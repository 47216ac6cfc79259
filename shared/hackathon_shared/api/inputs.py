"""The base of every request body of the public API: a field the model does not declare is
refused (422 naming it, RFC 9457 ``errors``), never silently dropped: a client that misspells
``description`` or sends ``organisation`` learns it at once (docs/input-rules.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class InputModel(BaseModel):
    """A request body: unknown fields are an error. Answers (views) stay plain models, so
    that a client of an older version ignores what a newer answer adds."""

    model_config = ConfigDict(extra="forbid")
