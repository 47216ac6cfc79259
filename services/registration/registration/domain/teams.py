"""Team rules that need no database."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence

from hackathon_shared.problems import ProblemError


def new_team_id() -> str:
    return f"team_{uuid.uuid4().hex}"


def new_invite_code() -> str:
    """128 random bits: not guessable by trying."""
    return secrets.token_urlsafe(16)


def name_key(name: str) -> str:
    """Team names are unique per hackathon after trimming, regardless of case."""
    return " ".join(name.split()).casefold()


def invite_code_matches(expected: str, given: str) -> bool:
    return secrets.compare_digest(expected.encode(), given.encode())


def check_room(members: int, max_team_size: int) -> None:
    if members >= max_team_size:
        raise ProblemError(409, "team-full", f"the team already has {members} members")


def check_team_slots(active_teams: int, max_teams: int) -> None:
    if active_teams >= max_teams:
        raise ProblemError(409, "hackathon-full", f"the hackathon has its {max_teams} teams")


def next_captain(members_in_join_order: Sequence[str], leaving: str) -> str | None:
    """The earliest remaining member, or None when nobody remains."""
    remaining = [m for m in members_in_join_order if m != leaving]
    return remaining[0] if remaining else None
