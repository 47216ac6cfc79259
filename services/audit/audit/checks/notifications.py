"""Notifications and causes: a notification names an event of the log as its cause and, when
it has one, an announced account as its recipient; every ``causation_id`` that is an event id
(a UUID; a request id is not looked up) names an event of the log."""

from __future__ import annotations

import uuid

from audit.checks.accounts import known_account
from audit.checks.state import LogState
from audit.facts import NotificationFailedFact, NotificationSentFact


def check_notifications_and_causes(s: LogState) -> None:
    all_event_ids = s.verifier.all_event_ids
    for cls in (NotificationSentFact, NotificationFailedFact):
        for item in s.by_type.get(cls, []):
            event = item.fact
            assert isinstance(event, NotificationSentFact | NotificationFailedFact)
            if event.causing_event_id not in all_event_ids:
                s.unknown(item, "event", event.causing_event_id)
            if event.recipient_account_id is not None:
                known_account(s, item, event.recipient_account_id)
    for item in s.events:
        cause = item.fact.causation_id if item.fact is not None else None
        if cause is None or cause in all_event_ids:
            continue
        try:
            uuid.UUID(cause)
        except ValueError:
            continue  # not an event id (a request id, say): nothing to look up
        s.unknown(item, "causing event", cause)
