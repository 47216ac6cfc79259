"""Rendering a notification's subject and body from its kind's Jinja2 template
(``notifications/templates/<kind>.txt``, with a ``subject`` and a ``body`` block).

Templates see the notification's context (ids and values), ``recipient`` (the account id), and
three look-ups: ``person(account_id)``, ``team(team_id)`` and ``hackathon(hackathon_id)``.
Names come from :class:`Names`, filled from the service's copy of registration's facts at
render time, so a name erased there is gone from every notification."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

UNNAMED_PERSON = "a participant"  # erased, or contact details not arrived yet
UNKNOWN_TEAM = "(name not known yet)"
UNKNOWN_HACKATHON = "the hackathon"

_environment = Environment(
    loader=PackageLoader("notifications", "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # plain text: clients escape what they display
    keep_trailing_newline=False,
)


@dataclass(frozen=True)
class Names:
    people: Mapping[str, str] = field(default_factory=dict)
    teams: Mapping[str, str] = field(default_factory=dict)
    hackathons: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def account_ids_in(context: Mapping[str, Any], recipient: str) -> set[str]:
    """The accounts whose names rendering this context may need."""
    ids = {recipient}
    for key in ("member_id", "new_captain_id"):
        if isinstance(context.get(key), str):
            ids.add(context[key])
    return ids


def render(kind: str, context: Mapping[str, Any], recipient: str, names: Names) -> Rendered:
    template = _environment.get_template(f"{kind}.txt")
    variables = {
        **context,
        "recipient": recipient,
        # An erased or blank name reads as the neutral default, never as an id.
        "person": lambda account_id, default=UNNAMED_PERSON: (
            (names.people.get(account_id) or "").strip() or default
        ),
        "team": lambda team_id: names.teams.get(team_id, UNKNOWN_TEAM),
        "hackathon": lambda hackathon_id: names.hackathons.get(hackathon_id, UNKNOWN_HACKATHON),
    }
    rendered_context = template.new_context(variables)
    subject = "".join(template.blocks["subject"](rendered_context)).strip()
    body = "".join(template.blocks["body"](rendered_context)).strip()
    return Rendered(subject=" ".join(subject.split()), body=body)
