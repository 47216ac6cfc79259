"""Notifications end to end, through the gateway, with real parts on loopback: the platform's
events reach the right people in their feeds, by e-mail through a real SMTP server (aiosmtpd),
live over Server-Sent Events, and to a hackathon's webhook receiver (a real HTTP server).

Notifications, e-mails and webhook deliveries arrive in their own time and are waited for;
every other answer is the one a single program would give, right after its cause: a webhook
is registered for a hackathon just created, a notification names the people it mentions as
soon as it shows, and an erased account's token is refused everywhere at once. A submission
tells its team as of the team's event the submission was accepted on (causal delivery)."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlmodel import select

from hackathon_shared.auth import issue_token
from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import (
    AwardGranted,
    RankingEntry,
    ResultsPublished,
    ResultsPublishedPayload,
    SeenFact,
    SubmissionReceived,
    SubmissionReceivedPayload,
    TeamMemberJoined,
    TeamRegistered,
)
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope, seal
from hackathon_shared.topics import (
    NOTIFICATIONS_EVENTS,
    REGISTRATION_EVENTS,
    SCORING_EVENTS,
    SUBMISSIONS_EVENTS,
)
from notifications.adapters.tables import ContactRow, NotificationRow
from notifications.domain.webhooks import signature_matches
from notifications.settings import NotificationsSettings
from tests.journey_helpers import (
    Hackathon,
    Json,
    Person,
    assert_problem,
    assign_judge,
    create_hackathon,
    create_team,
    enrol_judge,
    get_submission,
    join,
    last_sequence,
    leave,
    move_to,
    participant,
    publish,
    put_submission,
    submission_body,
    submit,
)
from tests.mail_fixtures import SmtpServer
from tests.platform_fixtures import Api, events_on
from tests.polling import wait_until
from tests.webhook_receiver import webhook_receiver

TIMEOUT = 30.0


async def feed(api: Api, person: Person) -> list[Json]:
    answer = await api.http.get("/notifications", headers=person.auth, params={"limit": 200})
    assert answer.status_code == 200, answer.text
    items: list[Json] = answer.json()["items"]
    return items


async def notified(api: Api, person: Person, kind: str, count: int = 1) -> list[Json]:
    """Wait until ``person`` has at least ``count`` notifications of ``kind`` (they arrive in
    their own time); returns them. The names they mention are there as soon as they show: the
    feed includes every contact detail already in the log."""

    async def arrived() -> list[Json]:
        found = [n for n in await feed(api, person) if n["kind"] == kind]
        return found if len(found) >= count else []

    found: list[Json] = await wait_until(
        arrived, timeout=TIMEOUT, interval=0.1, message=f"{count} {kind} for {person.name}"
    )
    return found


async def mails_to(smtp: SmtpServer, person: Person, count: int) -> list[Any]:
    def arrived() -> list[Any]:
        found = smtp.mailbox.to(person.email)
        return found if len(found) >= count else []

    found: list[Any] = await wait_until(
        arrived,
        timeout=TIMEOUT,
        interval=0.1,
        message=f"{count} e-mails to {person.name}",
    )
    return found


def notifications_database(api: Api) -> Database:
    """The notifications service's own database, for checks a client cannot make."""
    config = api.platform.config
    url = (
        config.database_urls.get("notifications")
        or NotificationsSettings(
            HACKATHON_DATA_DIR=config.data_dir, HACKATHON_JWT_SECRET=config.jwt_secret
        ).resolved_database_url()
    )
    return Database(url)


# --------------------------------------------------------------------------------------------


async def test_a_team_hears_of_its_life_in_app_and_by_email(
    api: Api, smtp_server: SmtpServer
) -> None:
    hackathon = await create_hackathon(api, phase="hacking")
    ada = await participant(api, hackathon, "Ada")
    bob = await participant(api, hackathon, "Bob")
    team = await create_team(api, hackathon, ada)
    await join(api, team, bob)

    [registered] = await notified(api, ada, "team_registered")
    assert team["name"] in registered["subject"]
    assert registered["read"] is False
    [ada_joined] = await notified(api, ada, "team_member_joined")
    assert ada_joined["subject"] == f"Bob joined {team['name']}"
    [bob_joined] = await notified(api, bob, "team_member_joined")
    assert bob_joined["subject"] == f"You joined {team['name']}"
    assert not [n for n in await feed(api, bob) if n["kind"] == "team_registered"]

    submitted = await submit(api, team["team_id"], ada, submission_body(title="Open water map"))
    for person in (ada, bob):
        [received] = await notified(api, person, "submission_received")
        assert "Open water map" in received["subject"]
        assert f"Version {submitted['version']}" in received["body"]

    await leave(api, team["team_id"], bob)
    [ada_left] = await notified(api, ada, "team_member_left")
    assert ada_left["subject"] == f"Bob left {team['name']}"
    [bob_left] = await notified(api, bob, "team_member_left")
    assert bob_left["subject"] == f"You left {team['name']}"

    # Newest first.
    ada_feed = await feed(api, ada)
    times = [n["created_at"] for n in ada_feed]
    assert times == sorted(times, reverse=True)

    # The same notifications by e-mail, one per notification, with the same text.
    ada_mails = await mails_to(smtp_server, ada, len(ada_feed))
    assert sorted(m["Subject"] for m in ada_mails) == sorted(n["subject"] for n in ada_feed)
    assert len(ada_mails) == len(ada_feed)
    welcome = next(m for m in ada_mails if m["Subject"] == "Welcome to the hackathon platform")
    assert "Hello Ada" in welcome.get_content()
    # The same Message-ID on every attempt of a delivery, so a mail system can drop a repeat.
    for mail in ada_mails:
        assert mail["Message-ID"] == f"<{mail['X-Notification-Id']}@hackathon.local>"
    # Each e-mail sent is announced, with ids only.
    sent = await events_on(
        api.platform,
        NOTIFICATIONS_EVENTS,
        lambda e: e.type == "NotificationSent" and e.payload.recipient_account_id == bob.account_id,
        count=4,  # welcome, joined, submission received, left
    )
    assert {e.payload.channel for e in sent} == {"email"}
    assert {e.payload.kind for e in sent} == {
        "welcome",
        "team_member_joined",
        "submission_received",
        "team_member_left",
    }
    assert bob.email.lower() not in json.dumps([e.model_dump(mode="json") for e in sent]).lower()


async def test_judges_and_teams_hear_of_judging_and_results(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    captain = await participant(api, hackathon, "Cleo")
    mate = await participant(api, hackathon, "Dan")
    judge = await participant(api, hackathon, "Judge")
    team = await create_team(api, hackathon, captain)
    await join(api, team, mate)
    await enrol_judge(api, hackathon, judge)
    [enrolled] = await notified(api, judge, "judge_enrolled")
    assert enrolled["subject"].startswith("You are a judge of Hackathon ")

    await move_to(api, hackathon, "hacking")
    submitted = await submit(api, team["team_id"], captain)
    await assign_judge(api.platform, hackathon.hackathon_id, submitted, judge.account_id)
    [assigned] = await notified(api, judge, "judge_assigned")
    assert team["name"] in assigned["subject"]

    # Results as scoring announces them: rank, score and the award reach every member.
    results = seal(
        ResultsPublished,
        payload=ResultsPublishedPayload(
            hackathon_id=hackathon.hackathon_id,
            entries=[
                RankingEntry(
                    rank=1,
                    submission_id=submitted["submission_id"],
                    team_id=team["team_id"],
                    score=8.25,
                    judges=1,
                )
            ],
            awards=[
                AwardGranted(
                    name="First prize", kind="grant", amount=1000, rank=1, team_id=team["team_id"]
                )
            ],
            published_by="acc_organizer",
        ),
        aggregate_id=hackathon.hackathon_id,
        sequence=1,
        prev_hash=GENESIS_HASH,
    )
    await publish(api.platform, SCORING_EVENTS, results)
    for person in (captain, mate):
        [told] = await notified(api, person, "results_published")
        assert "ranked 1 of 1" in told["subject"]
        assert "8.25" in told["body"]
        assert '"First prize"' in told["body"]
    assert not [n for n in await feed(api, judge) if n["kind"] == "results_published"]


def received_as_submissions_would_seal(
    hackathon: Hackathon, team: Json, submitter: Person, seen: list[SeenFact], title: str
) -> Envelope:
    """A first version of a new submission of ``team``, as the submissions service seals it
    when it accepts it on the facts ``seen``."""
    submission_id = f"sub_{uuid.uuid4().hex}"
    return seal(
        SubmissionReceived,
        payload=SubmissionReceivedPayload(
            submission_id=submission_id,
            hackathon_id=hackathon.hackathon_id,
            team_id=team["team_id"],
            challenge_id=team["challenge_id"],
            version=1,
            title=title,
            summary="Sensors",
            kind="technology",
            submitted_by=submitter.account_id,
            first_submitted_at=datetime.now(UTC),
            seen=seen,
        ),
        aggregate_id=submission_id,
        sequence=1,
        prev_hash=GENESIS_HASH,
    )


async def seen_on(api: Api, hackathon: Hackathon, team: Json, team_sequence: int) -> list[SeenFact]:
    """What submissions names when it accepts a version: the hackathon as of its last event,
    the team as of ``team_sequence``."""
    hackathon_sequence = await last_sequence(
        api.platform, REGISTRATION_EVENTS, hackathon.hackathon_id
    )
    return [
        SeenFact(
            producer="registration",
            aggregate_id=hackathon.hackathon_id,
            sequence=hackathon_sequence,
        ),
        SeenFact(producer="registration", aggregate_id=team["team_id"], sequence=team_sequence),
    ]


async def caused_by(api: Api, event: Envelope) -> list[NotificationRow]:
    """The in-app notifications ``event`` caused, read from the service's own database."""
    db = notifications_database(api)
    try:
        async with db.sessions() as session:
            rows = await session.exec(
                select(NotificationRow).where(
                    NotificationRow.causing_event_id == str(event.event_id)
                )
            )
            return list(rows.all())
    finally:
        await db.dispose()


async def test_a_submission_waits_for_the_team_event_it_names_and_tells_that_team(
    api: Api,
) -> None:
    """A submission names the team's event it was accepted on, which travels on another
    topic: notifications applies it only once it has applied that event, and tells the team
    as of it. Here the named event (New's join, team event 4) does not exist yet when the
    submission is published: until it does, the submission is held (the service, which
    answers only from a state that includes the whole log, is catching up rather than
    answering without it), and no one is told."""
    hackathon = await create_hackathon(api, phase="hacking")
    captain = await participant(api, hackathon, "Hal")
    stale = await participant(api, hackathon, "Stale")
    newcomer = await participant(api, hackathon, "New")
    team = await create_team(api, hackathon, captain)  # team event 1
    team = await join(api, team, stale)  # 2
    await notified(api, stale, "team_member_joined")
    seen = await seen_on(api, hackathon, team, team_sequence=4)
    event = received_as_submissions_would_seal(hackathon, team, captain, seen, "Proposal held")
    await publish(api.platform, SUBMISSIONS_EVENTS, event)

    # Held: the service cannot reach the log's end, so it answers 503 catching-up (after
    # its bounded wait), and the submission has told no one.
    held = await api.http.get("/notifications", headers=captain.auth)
    assert_problem(held, 503, "catching-up")
    assert held.headers["retry-after"]
    assert await caused_by(api, event) == []

    await leave(api, team["team_id"], stale)  # team event 3: still short of the named 4
    await join(api, team, newcomer)  # 4: the fact the submission names
    [told] = await notified(api, newcomer, "submission_received")
    assert "Proposal held" in told["subject"]
    [told_captain] = await notified(api, captain, "submission_received")
    assert "Proposal held" in told_captain["subject"]
    # Stale had left by team event 4: not told (told only if it were applied early, on the
    # team as of event 2).
    assert not [n for n in await feed(api, stale) if n["kind"] == "submission_received"]
    assert sorted(row.account_id for row in await caused_by(api, event)) == sorted(
        [captain.account_id, newcomer.account_id]
    )


async def test_a_submission_tells_the_team_as_of_the_event_it_names(api: Api) -> None:
    """Told as of the named team event, not as the team is now: a member who joined after it
    is not told, a member who left after it is."""
    hackathon = await create_hackathon(api, phase="hacking")
    captain = await participant(api, hackathon, "Hal")
    leaver = await participant(api, hackathon, "Lee")
    later = await participant(api, hackathon, "Moe")
    team = await create_team(api, hackathon, captain)  # team event 1
    team = await join(api, team, leaver)  # 2: the team the submission was accepted on
    seen = await seen_on(api, hackathon, team, team_sequence=2)
    await leave(api, team["team_id"], leaver)  # 3
    await join(api, team, later)  # 4
    # Notifications has applied team events 3 and 4 before the submission arrives.
    await notified(api, later, "team_member_joined")
    [joined] = await events_on(
        api.platform,
        REGISTRATION_EVENTS,
        lambda e: isinstance(e, TeamMemberJoined) and e.payload.account_id == later.account_id,
    )
    assert joined.sequence == 4

    event = received_as_submissions_would_seal(hackathon, team, captain, seen, "Proposal v1")
    await publish(api.platform, SUBMISSIONS_EVENTS, event)
    [told] = await notified(api, leaver, "submission_received")
    assert "Proposal v1" in told["subject"]
    await notified(api, captain, "submission_received")
    # All of the event's notifications are written at once: Moe's would be there by now.
    assert not [n for n in await feed(api, later) if n["kind"] == "submission_received"]
    assert sorted(row.account_id for row in await caused_by(api, event)) == sorted(
        [captain.account_id, leaver.account_id]
    )


async def test_a_member_at_the_named_event_who_left_and_came_back_is_told(api: Api) -> None:
    """Membership as of the named team event holds whatever happened after it: Lee was a
    member at team event 2, left (3) and joined again (4)."""
    hackathon = await create_hackathon(api, phase="hacking")
    captain = await participant(api, hackathon, "Hal")
    returning = await participant(api, hackathon, "Lee")
    team = await create_team(api, hackathon, captain)  # team event 1
    team = await join(api, team, returning)  # 2: the team the submission was accepted on
    seen = await seen_on(api, hackathon, team, team_sequence=2)
    await leave(api, team["team_id"], returning)  # 3
    await join(api, team, returning)  # 4
    await notified(api, returning, "team_member_joined", count=2)

    event = received_as_submissions_would_seal(hackathon, team, captain, seen, "Proposal v1")
    await publish(api.platform, SUBMISSIONS_EVENTS, event)
    await notified(api, captain, "submission_received")
    # All of the event's notifications are written at once: Lee's is there by now.
    assert sorted(row.account_id for row in await caused_by(api, event)) == sorted(
        [captain.account_id, returning.account_id]
    )


async def test_a_feed_holds_only_its_owners_notifications(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    eve = await participant(api, hackathon, "Eve")
    fay = await participant(api, hackathon, "Fay")
    await create_team(api, hackathon, fay)
    fays = await notified(api, fay, "team_registered")
    await notified(api, eve, "welcome")
    fay_ids = {n["notification_id"] for n in await feed(api, fay)}
    assert not fay_ids & {n["notification_id"] for n in await feed(api, eve)}

    # Someone else's notification cannot be marked, and is not revealed as existing.
    stolen = await api.http.post(
        f"/notifications/{fays[0]['notification_id']}/read", headers=eve.auth
    )
    assert_problem(stolen, 404, "not-found")
    assert_problem(
        await api.http.post("/notifications/ntf_does_not_exist/read", headers=eve.auth), 404
    )
    assert all(n["read"] is False for n in await feed(api, fay))

    marked = await api.http.post(
        f"/notifications/{fays[0]['notification_id']}/read", headers=fay.auth
    )
    assert marked.status_code == 200, marked.text
    assert marked.json()["read"] is True
    states = {n["notification_id"]: n["read"] for n in await feed(api, fay)}
    assert states[fays[0]["notification_id"]] is True
    assert list(states.values()).count(False) == len(states) - 1
    everything = await api.http.post("/notifications/read", headers=fay.auth)
    assert everything.json() == {"marked": len(states) - 1}
    assert all(n["read"] for n in await feed(api, fay))

    assert_problem(await api.http.get("/notifications"), 401, "unauthenticated")
    assert_problem(
        await api.http.get("/notifications", params={"limit": 201}, headers=fay.auth), 422
    )


async def test_a_live_stream_delivers_a_new_notification(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    gus = await participant(api, hackathon, "Gus")
    await notified(api, gus, "welcome")
    token = gus.auth["Authorization"].split(" ", 1)[1]
    url = api.platform.gateway_url + "/api/v1/notifications/stream"

    anonymous = await api.http.get("/notifications/stream")
    assert_problem(anonymous, 401, "unauthenticated")

    events: list[tuple[str, Json]] = []
    opened = asyncio.Event()

    async def follow() -> None:
        # As a browser's EventSource does: no headers, the token in the query.
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as client,
            client.stream("GET", url, params={"access_token": token}) as stream,
        ):
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            event, data = "message", ""
            async for line in stream.aiter_lines():
                opened.set()
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    data += line.split(":", 1)[1].strip()
                elif line == "" and data:
                    events.append((event, json.loads(data)))
                    return
                elif line == "":
                    event, data = "message", ""

    follower = asyncio.create_task(follow())
    try:
        await asyncio.wait_for(opened.wait(), timeout=10)
        # The welcome notification was there before: only what is new arrives.
        team = await create_team(api, hackathon, gus)
        await asyncio.wait_for(follower, timeout=TIMEOUT)
    finally:
        follower.cancel()
    [(kind, notification)] = events
    assert kind == "notification"
    assert notification["kind"] == "team_registered"
    assert team["name"] in notification["subject"]
    assert notification["notification_id"] in {n["notification_id"] for n in await feed(api, gus)}


async def test_webhook_deliveries_are_signed_and_retried(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="draft")
    organizer = await api.organizer()
    secret = "s3cret-for-the-hook-0123"
    with webhook_receiver() as receiver, webhook_receiver(always_fail=True) as broken:
        hooks = [
            await register_webhook(api, hackathon, target.url, secret)
            for target in (receiver, broken)
        ]
        await move_to(api, hackathon, "registration")

        def delivered() -> list[Any]:
            return [r for r in receiver.all() if r.answered == 204]

        [ok] = await wait_until(delivered, timeout=TIMEOUT, message="a successful delivery")
        attempts = [
            r
            for r in receiver.all()
            if r.headers["x-webhook-delivery"] == ok.headers["x-webhook-delivery"]
        ]
        assert [a.answered for a in attempts] == [500, 204]  # the failure was retried
        for attempt in attempts:
            assert signature_matches(secret, attempt.body, attempt.headers["x-signature"])
            assert not signature_matches(
                secret, attempt.body + b" ", attempt.headers["x-signature"]
            )
            assert attempt.json["sent_at"] == attempt.headers["x-webhook-timestamp"]
        event = ok.json["event"]
        assert ok.json["hackathon_id"] == hackathon.hackathon_id
        assert event["type"] == "HackathonPhaseChanged" == ok.headers["x-event-type"]
        assert event["payload"]["to_phase"] == "registration"
        assert Envelope.model_validate(event).computed_hash() == event["hash"]

        # The hook that keeps failing is marked failed, without holding the other back.
        async def given_up() -> list[Json]:
            answer = await api.http.get(
                f"/hackathons/{hackathon.hackathon_id}/webhooks/{hooks[1]['webhook_id']}/deliveries",
                headers=organizer,
            )
            items: list[Json] = answer.json()["items"]
            return items if items and items[0]["status"] == "failed" else []

        [failed] = await wait_until(given_up, timeout=TIMEOUT, message="delivery marked failed")
        assert failed["attempts"] == 4
        assert failed["last_error"] == "the receiver answered 500"
        assert len(broken.all()) == 4
        listed = await api.http.get(
            f"/hackathons/{hackathon.hackathon_id}/webhooks", headers=organizer
        )
        counts = {h["webhook_id"]: h["deliveries"] for h in listed.json()}
        assert counts[hooks[0]["webhook_id"]] == {"pending": 0, "sent": 1, "failed": 0}
        assert counts[hooks[1]["webhook_id"]] == {"pending": 0, "sent": 0, "failed": 1}
        failures = await events_on(
            api.platform,
            NOTIFICATIONS_EVENTS,
            lambda e: (
                e.type == "NotificationFailed"
                and e.payload.notification_id == failed["delivery_id"]
            ),
        )
        assert failures[0].payload.channel == "webhook"


async def register_webhook(api: Api, hackathon: Hackathon, url: str, secret: str) -> Json:
    """Register a webhook: one call, accepted (right after the hackathon was created too)."""
    answer = await api.http.post(
        f"/hackathons/{hackathon.hackathon_id}/webhooks",
        headers=await api.organizer(),
        json={"url": url, "secret": secret},
    )
    assert answer.status_code == 201, answer.text
    assert "secret" not in answer.json()
    hook: Json = answer.json()
    return hook


async def test_webhook_registration_refuses_what_it_must(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="draft")
    hid = hackathon.hackathon_id
    organizer = await api.organizer()
    outsider = await participant(api, await create_hackathon(api), "Outsider")
    # On loopback (allowed in the tests), so that nothing depends on outside DNS.
    good = {"url": "http://127.0.0.1:9/hook", "secret": "a-long-enough-secret"}
    path = f"/hackathons/{hid}/webhooks"
    assert_problem(await api.http.post(path, json=good), 401)
    assert_problem(await api.http.post(path, json=good, headers=outsider.auth), 403, "forbidden")
    for bad, field in (
        ({**good, "url": "ftp://example.org/hook"}, "url"),
        ({**good, "url": "https://user:pw@example.org/hook"}, "url"),
        ({**good, "secret": "short"}, "secret"),
        ({"url": good["url"]}, "secret"),
    ):
        problem = assert_problem(await api.http.post(path, json=bad, headers=organizer), 422)
        assert [e["field"].rsplit(".", 1)[-1] for e in problem["errors"]] == [field], problem
    unknown = await api.http.post("/hackathons/hck_nope/webhooks", json=good, headers=organizer)
    assert_problem(unknown, 404, "hackathon-not-found")
    listed = await api.http.get(path, headers=organizer)
    assert listed.status_code == 200 and listed.json() == []

    # At most WEBHOOK_MAX_PER_HACKATHON (3 here); deleting one makes room again.
    hooks = [await register_webhook(api, hackathon, good["url"], good["secret"]) for _ in range(3)]
    assert_problem(
        await api.http.post(path, json=good, headers=organizer), 409, "too-many-webhooks"
    )
    one = f"{path}/{hooks[0]['webhook_id']}"
    assert_problem(await api.http.delete(one, headers=outsider.auth), 403)
    assert (await api.http.delete(one, headers=organizer)).status_code == 204
    assert_problem(await api.http.delete(one, headers=organizer), 404)
    remaining = {h["webhook_id"] for h in (await api.http.get(path, headers=organizer)).json()}
    assert remaining == {h["webhook_id"] for h in hooks[1:]}
    assert (await api.http.post(path, json=good, headers=organizer)).status_code == 201


async def test_a_redelivered_event_notifies_once(api: Api, smtp_server: SmtpServer) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    hal = await participant(api, hackathon, "Hal")
    team = await create_team(api, hackathon, hal)
    [registered] = await events_on(
        api.platform,
        REGISTRATION_EVENTS,
        lambda e: isinstance(e, TeamRegistered) and e.payload.team_id == team["team_id"],
    )
    await notified(api, hal, "team_registered")
    await publish(api.platform, REGISTRATION_EVENTS, registered)  # the same event again
    # A later event of the same team (same partition) shows the duplicate was consumed.
    ivy = await participant(api, hackathon, "Ivy")
    await join(api, team, ivy)
    await notified(api, hal, "team_member_joined")
    assert len([n for n in await feed(api, hal) if n["kind"] == "team_registered"]) == 1
    mails = await mails_to(smtp_server, hal, 3)  # welcome, registered, joined
    subjects = [m["Subject"] for m in mails]
    assert len(subjects) == 3 and len(set(subjects)) == 3, subjects


async def test_mail_the_server_refuses_is_retried_then_reported_failed(
    api: Api, smtp_server: SmtpServer
) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    jan = await participant(api, hackathon, "Jan")
    await mails_to(smtp_server, jan, 1)  # the welcome went out
    smtp_server.mailbox.refused.add(jan.email)
    try:
        await create_team(api, hackathon, jan)
        [failed] = await events_on(
            api.platform,
            NOTIFICATIONS_EVENTS,
            lambda e: (
                e.type == "NotificationFailed" and e.payload.recipient_account_id == jan.account_id
            ),
        )
    finally:
        smtp_server.mailbox.refused.discard(jan.email)
    assert failed.payload.channel == "email"
    assert failed.payload.kind == "team_registered"
    assert failed.payload.error == "SMTP server answered 550"
    assert jan.email.lower() not in failed.to_json().lower()
    assert smtp_server.mailbox.refusals.count(jan.email.lower()) == 4  # every attempt was made
    assert len(smtp_server.mailbox.to(jan.email)) == 1
    # In-app, it arrived all the same.
    await notified(api, jan, "team_registered")


async def test_erasure_removes_the_contact_and_the_personal_data(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    kim = await participant(api, hackathon, "Kim")
    lou = await participant(api, hackathon, "Lou-unique-name")
    team = await create_team(api, hackathon, kim)
    await join(api, team, lou)

    [told] = await notified(api, kim, "team_member_joined")
    assert told["subject"] == f"Lou-unique-name joined {team['name']}"
    await notified(api, lou, "team_member_joined")
    db = notifications_database(api)
    try:
        async with db.sessions() as session:
            assert await session.get(ContactRow, lou.account_id) is not None

        assert (await api.http.delete("/me", headers=lou.auth)).status_code == 204

        # Right after: Kim's notification stays, without Lou's name in it.
        [after] = [
            n for n in await feed(api, kim) if n["notification_id"] == told["notification_id"]
        ]
        assert "Lou-unique-name" not in json.dumps(after)
        assert after["subject"] == f"a participant joined {team['name']}"
        # That answer included the erasure, so the service's own store has applied it too:
        # Lou's contact details and own notifications are gone.
        async with db.sessions() as session:
            assert await session.get(ContactRow, lou.account_id) is None
            own = await session.exec(
                select(NotificationRow).where(NotificationRow.account_id == lou.account_id)
            )
            assert own.all() == []
        async with db.sessions() as session:
            rows = (await session.exec(select(NotificationRow))).all()
            assert "Lou-unique-name" not in json.dumps([r.context for r in rows])

        # Lou leaves the team with the erasure, but nothing is addressed to an erased account again.
        await join(api, team, await participant(api, hackathon, "Max"))
        await notified(api, kim, "team_member_joined", count=2)
        async with db.sessions() as session:
            lous = (
                await session.exec(
                    select(NotificationRow).where(NotificationRow.account_id == lou.account_id)
                )
            ).all()
            assert lous == []
    finally:
        await db.dispose()


async def stream_status(api: Api, auth: dict[str, str]) -> tuple[int, Json | None]:
    """The status of a request for ``auth``'s live stream, and its problem when refused (an
    accepted stream is closed unread)."""
    async with api.http.stream("GET", "/notifications/stream", headers=auth) as stream:
        if stream.status_code == 200:
            return 200, None
        await stream.aread()
        problem: Json = stream.json()
        return stream.status_code, problem


async def test_an_erased_accounts_token_is_refused_by_every_service_at_once(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="hacking")
    hid = hackathon.hackathon_id
    ray = await participant(api, hackathon, "Ray")
    team = await create_team(api, hackathon, ray)
    tid = team["team_id"]
    sid = (await submit(api, tid, ray))["submission_id"]
    scores = {"scores": {"impact": 5, "feasibility": 5}}

    async def answers() -> dict[str, httpx.Response]:
        """Ray's requests to notifications, submissions and scoring, through the gateway."""
        return {
            "feed": await api.http.get("/notifications", headers=ray.auth),
            "mark read": await api.http.post("/notifications/read", headers=ray.auth),
            "read submission": await get_submission(api, tid, ray.auth),
            "submit": await put_submission(api, tid, ray.auth, submission_body()),
            "own assignments": await api.http.get("/judging/assignments", headers=ray.auth),
            "score": await api.http.put(
                f"/submissions/{sid}/scores/me", headers=ray.auth, json=scores
            ),
            "leaderboard": await api.http.get(f"/hackathons/{hid}/leaderboard", headers=ray.auth),
        }

    # First the token is good everywhere (what Ray may not do is refused for its own rule).
    before = await answers()
    assert {name: answer.status_code for name, answer in before.items()} == {
        "feed": 200,
        "mark read": 200,
        "read submission": 200,
        "submit": 200,
        "own assignments": 200,
        "score": 403,
        "leaderboard": 403,
    }, {name: answer.text for name, answer in before.items()}
    assert before["own assignments"].json()["items"] == []
    assert_problem(before["score"], 403, "not-assigned")
    assert_problem(before["leaderboard"], 403, "not-published")
    assert await stream_status(api, ray.auth) == (200, None)

    assert (await api.http.delete("/me", headers=ray.auth)).status_code == 204

    # Right after: the same token, unexpired, is refused by every service.
    for name, answer in (await answers()).items():
        assert answer.status_code == 401, (name, answer.text)
        assert_problem(answer, 401, "unauthenticated")
    status, problem = await stream_status(api, ray.auth)
    assert status == 401, problem
    assert problem is not None and problem["type"].endswith("/unauthenticated"), problem


async def test_streams_are_capped_per_account_and_end_with_their_token(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    ned = await participant(api, hackathon, "Ned")
    url = api.platform.gateway_url + "/api/v1/notifications/stream"
    timeout = httpx.Timeout(10, read=None)

    # STREAM_MAX_PER_ACCOUNT is 2 here: a third is refused until one closes.
    async with httpx.AsyncClient(timeout=timeout) as client, AsyncExitStack() as streams:
        for _ in range(2):
            opened = await streams.enter_async_context(client.stream("GET", url, headers=ned.auth))
            assert opened.status_code == 200
        third = await client.get(url, headers=ned.auth)
        assert_problem(third, 429, "too-many-streams")
        assert third.headers["retry-after"]
        other = await participant(api, hackathon, "Olga")  # another account is not held back
        async with client.stream("GET", url, headers=other.auth) as theirs:
            assert theirs.status_code == 200

    async def reopened() -> bool:
        async with (
            httpx.AsyncClient(timeout=timeout) as client,
            client.stream("GET", url, headers=ned.auth) as again,
        ):
            return again.status_code == 200

    await wait_until(reopened, timeout=TIMEOUT, message="a stream slot freed on close")

    # A stream ends when its token expires, saying so: the client reconnects with a new one.
    short = issue_token(api.platform.config.jwt_secret, ned.account_id, ["participant"], 3)

    async def until_expired() -> list[str]:
        seen: list[str] = []
        async with (
            httpx.AsyncClient(timeout=timeout) as client,
            client.stream("GET", url, params={"access_token": short}) as stream,
        ):
            assert stream.status_code == 200
            async for line in stream.aiter_lines():
                seen.append(line)
        return seen

    lines = await asyncio.wait_for(until_expired(), timeout=TIMEOUT)
    assert "event: token-expired" in lines
    assert_problem(await api.http.get(url, params={"access_token": short}), 401)
