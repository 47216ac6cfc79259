"""Who hears what: pure functions from an event to the notifications it causes."""

from __future__ import annotations

from dataclasses import dataclass

from hackathon_shared.events.catalogue import AccountCreated
from hackathon_shared.events.envelope import Envelope


@dataclass(frozen=True)
class NotificationDraft:
    account_id: str
    kind: str
    subject: str
    body: str


def notifications_for(event: Envelope) -> list[NotificationDraft]:
    if isinstance(event, AccountCreated):
        return [
            NotificationDraft(
                account_id=event.payload.account_id,
                kind="welcome",
                subject="Welcome to the hackathon platform",
                body=(
                    "Your account is ready. Register for a hackathon, form or join a team, "
                    "and submit your proposal before the deadline."
                ),
            )
        ]
    return []
