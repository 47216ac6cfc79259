"""Team rules that need no database."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence

from hackathon_shared.problems import ProblemError, invalid_field
from hackathon_shared.text import comparison_key

NAME_KEY_MAX_LENGTH = 400
"""The stored key's size (``teams.name_key``): four times a name's 100 characters, which case
folding and NFKC stay within for any name a person would choose."""


def new_team_id() -> str:
    return f"team_{uuid.uuid4().hex}"


def new_invite_code() -> str:
    """128 random bits: not guessable by trying."""
    return secrets.token_urlsafe(16)


def name_key(name: str) -> str:
    """What makes two team names one name: their confusable-safe comparison key (case, width,
    invisible characters and Cyrillic or Greek look-alikes of Latin letters do not count;
    ``hackathon_shared.text.comparison_key``). Team names are unique per hackathon by it.

    A name whose key would not fit its column (a string of ligatures that NFKC spells out,
    say) is refused as invalid."""
    key = comparison_key(name)
    if len(key) > NAME_KEY_MAX_LENGTH:
        raise invalid_field("name", "the name is too long once normalised")
    return key


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
