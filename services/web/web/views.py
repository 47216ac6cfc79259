"""What the pages show, derived from the API's answers: no rule of the platform is decided
here (the services decide, and the pages show their refusals); these only say what the
reader can expect, such as whether the phase still takes submissions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from web.messages import N_

PHASES = ("draft", "registration", "hacking", "judging", "finished")
PHASE_NAMES = {
    "draft": N_("Draft"),
    "registration": N_("Registration"),
    "hacking": N_("Hacking"),
    "judging": N_("Judging"),
    "finished": N_("Finished"),
}
SECTOR_NAMES = {
    "private": N_("Private sector"),
    "academia": N_("Academia"),
    "civil_society": N_("Civil society"),
    "government": N_("Government"),
    "other": N_("Other"),
}
AWARD_KINDS = {"mentorship": N_("Mentorship"), "grant": N_("Grant"), "other": N_("Other")}
DELIVERY_STATES = {"pending": N_("waiting"), "sent": N_("sent"), "failed": N_("failed")}
SUBMISSION_KINDS = {
    "technology": N_("Technology"),
    "business": N_("Business project"),
    "social": N_("Social initiative"),
}


@dataclass(frozen=True)
class HackathonView:
    data: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.data[name]
        except KeyError as missing:
            raise AttributeError(name) from missing

    @property
    def phase(self) -> str:
        return str(self.data["phase"])

    @property
    def phase_steps(self) -> list[tuple[str, str]]:
        """Every phase, each as past, current or coming."""
        current = PHASES.index(self.phase)
        return [
            (phase, "past" if i < current else "current" if i == current else "coming")
            for i, phase in enumerate(PHASES)
        ]

    @property
    def deadline(self) -> datetime:
        return datetime.fromisoformat(self.data["submission_deadline"])

    def deadline_passed(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.deadline

    def takes_submissions(self, now: datetime | None = None) -> bool:
        return self.phase == "hacking" and not self.deadline_passed(now)

    def challenge_title(self, challenge_id: str) -> str:
        for challenge in self.data.get("challenges", []):
            if challenge["challenge_id"] == challenge_id:
                return str(challenge["title"])
        return ""


def hackathon_view(data: dict[str, Any]) -> HackathonView:
    return HackathonView(data)


def score_inputs(values: dict[str, str]) -> tuple[dict[str, float], list[str]]:
    """The scoring form's ``score.<key>`` fields as numbers, and the fields that are not
    numbers at all (the ranges are the service's to check, and it names what is out)."""
    scores: dict[str, float] = {}
    unreadable: list[str] = []
    for name, text in values.items():
        try:
            number = float(text.strip().replace(",", "."))
        except ValueError:
            unreadable.append(name)
            continue
        if number != number or number in (float("inf"), float("-inf")):
            unreadable.append(name)
            continue
        scores[name.removeprefix("score.")] = number
    return scores, unreadable


NEXT_PHASE = {"draft": "registration", "registration": "hacking", "hacking": "judging"}
PHASE_CONSEQUENCES = {
    "registration": N_(
        "Registration opens: people can register for the hackathon, with their consent, and "
        "form and join teams."
    ),
    "hacking": N_(
        "Hacking starts: teams can submit and revise their proposals until the submission "
        "deadline. People can still register and join teams."
    ),
    "judging": N_(
        "Judging starts: submissions close for good, registration and teams are frozen, and "
        "judges' declared conflicts can no longer change. Then run the assignment."
    ),
}


def _lines(text: str) -> list[list[str]]:
    return [
        [part.strip() for part in line.split("|")] for line in text.splitlines() if line.strip()
    ]


def _number(text: str) -> float | None:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def hackathon_form_body(
    values: dict[str, str], zone: ZoneInfo | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The new-hackathon form as the API's body, and the fields that cannot be read at all
    (the service checks everything else and names what it refuses). Lists are one line
    each, parts split by ``|``: challenges ``title | description``, criteria ``key | name |
    weight | min | max``, awards ``rank | name | kind | amount``. The deadline is in the
    reader's time zone (UTC when it is not known)."""
    unreadable: dict[str, str] = {}
    body: dict[str, Any] = {
        "name": values.get("name", ""),
        "description": values.get("description", ""),
        "challenges": [
            {"title": parts[0], "description": " | ".join(parts[1:])}
            for parts in _lines(values.get("challenges", ""))
        ],
    }
    for name in ("min_team_size", "max_team_size", "max_teams", "judges_per_submission"):
        text = values.get(name, "").strip()
        if not text.isdigit():
            unreadable[name] = N_("Enter a whole number.")
        else:
            body[name] = int(text)
    try:
        local = datetime.fromisoformat(values.get("submission_deadline", ""))
        body["submission_deadline"] = (
            local if local.tzinfo else local.replace(tzinfo=zone or ZoneInfo("UTC"))
        ).isoformat()
    except ValueError:
        unreadable["submission_deadline"] = N_("Enter a date and a time.")
    criteria: list[dict[str, Any]] = []
    for parts in _lines(values.get("rubric", "")):
        numbers = [_number(p) for p in parts[2:5]]
        if len(parts) < 3 or any(n is None for n in numbers):
            unreadable["rubric"] = N_("Write each criterion as: key | name | weight | min | max.")
            break
        criterion: dict[str, Any] = {"key": parts[0], "name": parts[1], "weight": numbers[0]}
        if len(numbers) > 1:
            criterion["min"] = numbers[1]
        if len(numbers) > 2:
            criterion["max"] = numbers[2]
        criteria.append(criterion)
    body["rubric"] = {"criteria": criteria, "normalization": values.get("normalization", "none")}
    awards: list[dict[str, Any]] = []
    for parts in _lines(values.get("awards", "")):
        if len(parts) < 3 or not parts[0].isdigit():
            unreadable["awards"] = N_("Write each award as: rank | name | kind | amount.")
            break
        award: dict[str, Any] = {"rank": int(parts[0]), "name": parts[1], "kind": parts[2]}
        if len(parts) > 3 and parts[3]:
            amount = _number(parts[3])
            if amount is None:
                unreadable["awards"] = N_("Write each award as: rank | name | kind | amount.")
                break
            award["amount"] = amount
        awards.append(award)
    body["awards"] = awards
    return body, unreadable
