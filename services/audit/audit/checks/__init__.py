"""The rule and reference checks of ``audit verify`` (and the ``results`` check), over the
decoded events of a log whose envelopes and chains :class:`audit.verifier.Verifier` has
checked: one module per group, sharing what they learn in a :class:`LogState`.

``reference``
    Entities referred to were announced: accounts, hackathons, challenges, teams,
    participants, submissions, judges, and the events named as ``causation_id`` or
    ``causing_event_id``; each position a decision names (``seen``) is in the log.
``rule``
    Domain rules visible in the log: accounts and roles (:mod:`.accounts`), hackathons and
    their phases (:mod:`.hackathons`), judges and their conflicts (:mod:`.judges`), teams
    (:mod:`.teams`), submissions (:mod:`.submissions`), assignments and scores
    (:mod:`.judging`), published results (:mod:`.results`), notifications and causes
    (:mod:`.notifications`). A decision that names the positions it was taken on is replayed
    at them (:mod:`.positions`).
``results``
    The leaderboard and awards recomputed and compared with the published ones
    (:mod:`.results`).

The groups run in one order, each reading what those before it kept: accounts, hackathons,
participants and judges, the histories by sequence, teams, named positions, submissions,
judging, results, notifications.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit.checks.accounts import check_accounts
from audit.checks.hackathons import build_phase_histories, check_participants, check_phases
from audit.checks.judges import (
    build_conflict_histories,
    check_conflict_changes,
    check_enrolments,
)
from audit.checks.judging import check_judging
from audit.checks.notifications import check_notifications_and_causes
from audit.checks.positions import check_positions
from audit.checks.results import check_results
from audit.checks.state import LogState
from audit.checks.submissions import check_submissions
from audit.checks.teams import check_teams

if TYPE_CHECKING:
    from audit.verifier import Verifier

__all__ = ["LogState", "run_checks"]


def run_checks(verifier: Verifier) -> None:
    """Every rule, reference and results check over the verifier's items, reported to it."""
    s = LogState(verifier)
    check_accounts(s)
    check_phases(s)
    check_participants(s)
    check_enrolments(s)
    build_phase_histories(s)
    build_conflict_histories(s)
    check_conflict_changes(s)
    check_teams(s)
    check_positions(s)
    check_submissions(s)
    scores = check_judging(s)
    check_results(s, scores)
    check_notifications_and_causes(s)
