"""Public API v1 models for submissions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from hackathon_shared.api.timestamps import UtcDateTime

Link = Annotated[
    str, StringConstraints(max_length=2048, pattern=r"^[hH][tT][tT][pP][sS]?://[^\s/?#]+\S*$")
]


class SubmissionIn(BaseModel):
    title: str = Field(min_length=3, max_length=120)
    summary: str = Field(min_length=1, max_length=5000)
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
