"""Hackathon rules that need no database: phases and what each phase allows."""

from __future__ import annotations

import itertools
import uuid

from hackathon_shared.events.catalogue import PHASES
from hackathon_shared.problems import ProblemError

# The phase order is the event contract's (``PHASES``): one home for every service.
ORGANIZER_MOVES = dict(itertools.pairwise(PHASES[:-1]))
"""draft → registration → hacking → judging: the moves an organizer makes."""
TEAM_PHASES = frozenset({"registration", "hacking"})  # teams form and change
REGISTRATION_PHASES = frozenset({"registration", "hacking"})
JUDGE_ENROLMENT_PHASES = frozenset({"draft", "registration", "hacking", "judging"})
CONFLICT_CHANGE_PHASES = frozenset({"draft", "registration", "hacking"})
"""A judge's declared conflicts change before judging: assignment happens in judging only,
so no assignment can have been decided on the conflicts being replaced (registration owns
the phase, so this cannot race with scoring's assignment)."""
# ``finished`` is reached only when scoring publishes the results.


def new_hackathon_id() -> str:
    return f"hck_{uuid.uuid4().hex}"


def new_challenge_id() -> str:
    return f"chl_{uuid.uuid4().hex[:16]}"


def check_organizer_move(current: str, requested: str) -> None:
    if ORGANIZER_MOVES.get(current) == requested:
        return
    if requested == "finished" and current == "judging":
        detail = "a hackathon finishes when its results are published (POST .../results)"
    else:
        allowed = ORGANIZER_MOVES.get(current)
        detail = (
            f"from {current} the only move is to {allowed}"
            if allowed
            else (f"a {current} hackathon does not change phase")
        )
    raise ProblemError(409, "phase-transition", detail)


def require_phase(current: str, allowed: frozenset[str], action: str) -> None:
    if current not in allowed:
        raise ProblemError(
            409,
            "wrong-phase",
            f"{action} is possible in phase {' or '.join(sorted(allowed))}, not {current}",
        )
