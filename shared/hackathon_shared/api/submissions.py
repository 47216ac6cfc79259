"""Public API v1 models for submissions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel

from hackathon_shared.api.inputs import InputModel
from hackathon_shared.api.timestamps import UtcDateTime
from hackathon_shared.text import Line, Paragraphs, WebAddress

Link = Annotated[str, WebAddress(max_length=2048, http_only=True)]
"""An http(s) URL with a host, without white space or control characters."""


class SubmissionIn(InputModel):
    title: Annotated[str, Line(min_length=3, max_length=120)]
    summary: Annotated[str, Paragraphs(min_length=1, max_length=5000)]
    kind: Literal["technology", "business", "social"]
    repo_url: Link | None = None
    demo_url: Link | None = None


class SubmissionView(BaseModel):
    submission_id: str
    team_id: str
    hackathon_id: str
    challenge_id: str
    version: int
    title: str
    summary: str
    kind: Literal["technology", "business", "social"]
    repo_url: str | None
    demo_url: str | None
    submitted_at: UtcDateTime
    first_submitted_at: UtcDateTime
    status: Literal["active", "withdrawn"]
