"""When a team may submit, and who may read a submission: rules without I/O."""

from __future__ import annotations

import uuid
from datetime import datetime

from hackathon_shared.problems import ProblemError


def new_submission_id() -> str:
    return f"sub_{uuid.uuid4().hex}"


def check_can_submit(
    *,
    phase: str,
    deadline: datetime,
    now: datetime,
    team_status: str,
    members: int,
    min_team_size: int,
) -> None:
    if team_status != "active":
        raise ProblemError(409, "team-withdrawn", "this team has withdrawn")
    if phase != "hacking":
        raise ProblemError(409, "wrong-phase", f"submissions are accepted in hacking, not {phase}")
    if now >= deadline:
        raise ProblemError(
            409, "deadline-passed", f"the submission deadline was {deadline.isoformat()}"
        )
    if members < min_team_size:
        raise ProblemError(
            409,
            "team-too-small",
            f"the team has {members} members; at least {min_team_size} are needed",
        )


def may_read(*, is_member: bool, is_organizer: bool, is_assigned_judge: bool) -> bool:
    return is_member or is_organizer or is_assigned_judge
