"""The notification feed's store: newest first, keyset pages, only the caller's own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hackathon_shared.db import Database
from hackathon_shared.migrations import upgrade_to_head
from hackathon_shared.pagination import encode_cursor
from hackathon_shared.problems import ProblemError
from notifications.adapters.tables import NotificationRow
from notifications.app import MIGRATIONS
from notifications.service.feed import list_feed


async def seeded(database_url: str) -> Database:
    await upgrade_to_head(database_url, MIGRATIONS)
    db = Database(database_url)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    async with db.transaction() as session:
        for i in range(5):
            for account in ("acc_me", "acc_other"):
                session.add(
                    NotificationRow(
                        notification_id=f"ntf_{account}_{i}",
                        account_id=account,
                        kind="welcome",
                        causing_event_id=f"evt_{account}_{i}",
                        # two share a timestamp, so the id breaks the tie
                        created_at=start + timedelta(minutes=min(i, 3)),
                        stored_at=start,
                    )
                )
    return db


async def test_feed_pages_newest_first_without_gaps_or_repeats(database_url: str) -> None:
    db = await seeded(database_url)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        rows, cursor = await list_feed(db, "acc_me", 2, cursor)
        seen.extend(r.notification_id for r in rows)
        pages += 1
        if cursor is None:
            break
    assert pages == 3
    assert seen == [f"ntf_acc_me_{i}" for i in (4, 3, 2, 1, 0)]
    await db.dispose()


async def test_feed_rejects_a_cursor_it_did_not_give(tmp_path: Path) -> None:
    db = await seeded(f"sqlite+aiosqlite:///{tmp_path / 'n.db'}")
    for cursor in ("bm90LWEtY3Vyc29y!", encode_cursor(["not a time"]), encode_cursor([])):
        with pytest.raises(ProblemError) as caught:
            await list_feed(db, "acc_me", 2, cursor)
        assert caught.value.status == 422
    await db.dispose()
