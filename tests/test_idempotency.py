"""Idempotent writes through the gateway: a retry with the same ``Idempotency-Key`` and the
same request gets the first answer again and changes nothing (no second team, no second
version, no second event or notification); the same key with another request is refused; a
key is its caller's own."""

from __future__ import annotations

import uuid
from typing import Any

from tests.journey_helpers import (
    assert_problem,
    create_hackathon,
    error_fields,
    every_item,
    move_to,
    participant,
    submission_body,
)
from tests.platform_fixtures import Api, events_on

Json = dict[str, Any]


async def test_a_retried_write_is_carried_out_once_and_answered_alike(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    hid = hackathon.hackathon_id
    ada = await participant(api, hackathon, "Ada")
    bo = await participant(api, hackathon, "Bo")
    key = str(uuid.uuid4())
    body = {"name": f"Owls {key[:8]}", "challenge_id": hackathon.challenge_ids[0]}
    teams = f"/hackathons/{hid}/teams"

    first = await api.http.post(teams, headers={**ada.auth, "Idempotency-Key": key}, json=body)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = await api.http.post(teams, headers={**ada.auth, "Idempotency-Key": key}, json=body)
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    team_id = first.json()["team_id"]

    # The same key for another request changes nothing and says why.
    other = {**body, "name": "Herons"}
    reused = await api.http.post(teams, headers={**ada.auth, "Idempotency-Key": key}, json=other)
    assert_problem(reused, 422, "idempotency-key-reused")
    assert error_fields(reused) == ["Idempotency-Key"]
    # A key is its caller's: Bo's request with Ada's key is his own, carried out (and
    # refused on its merits: the name is taken).
    bos = await api.http.post(teams, headers={**bo.auth, "Idempotency-Key": key}, json=body)
    assert_problem(bos, 409, "team-name-taken")
    listed = await every_item(api, teams)
    assert [t["team_id"] for t in listed] == [team_id]
    # One team, one event.
    registered = await events_on(
        api.platform,
        "registration.events",
        lambda e: e.type == "TeamRegistered" and e.payload.hackathon_id == hid,
    )
    assert [e.aggregate_id for e in registered] == [team_id]

    # A submission retried: one version, however many times it is sent.
    await move_to(api, hackathon, "hacking")
    put_key = str(uuid.uuid4())
    content = submission_body()
    answers = [
        await api.http.put(
            f"/teams/{team_id}/submission",
            headers={**ada.auth, "Idempotency-Key": put_key},
            json=content,
        )
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201], [a.text for a in answers]
    assert {a.json()["version"] for a in answers} == {1}
    assert [a.headers.get("idempotent-replayed") for a in answers] == [None, "true", "true"]
    current = await api.http.get(f"/teams/{team_id}/submission", headers=ada.auth)
    assert current.json()["version"] == 1
    received = await events_on(
        api.platform,
        "submissions.events",
        lambda e: e.type == "SubmissionReceived" and e.payload.team_id == team_id,
    )
    assert [e.payload.version for e in received] == [1]


async def test_a_key_that_is_not_visible_ascii_is_refused_at_the_gateway(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    ada = await participant(api, hackathon, "Ada")
    teams = f"/hackathons/{hackathon.hackathon_id}/teams"
    body = {"name": "Kites", "challenge_id": hackathon.challenge_ids[0]}
    for bad in ("with space", "x" * 256):
        refused = await api.http.post(
            teams, headers={**ada.auth, "Idempotency-Key": bad}, json=body
        )
        assert error_fields(refused) == ["Idempotency-Key"]
    assert await every_item(api, teams) == []
