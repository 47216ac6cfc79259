"""Every input is bounded and normalised, through the gateway (docs/input-rules.md): what a
hostile or careless client sends (extreme dates, huge or non-numeric numbers, unknown fields
and query parameters, look-alike or invisible names, control characters) is a 422 naming
the field, or the 409 of a duplicate name, and changes nothing."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from hackathon_shared.pagination import encode_cursor
from tests.journey_helpers import (
    Auth,
    Hackathon,
    Json,
    assert_problem,
    create_hackathon,
    enrol_judge,
    every_item,
    get_submission,
    move_to,
    participant,
    put_submission,
    submission_body,
    submit,
    team_of,
)
from tests.platform_fixtures import PASSWORD, Api, unique_email

HOSTILE_DEADLINE = "9999-12-31T23:59:59-14:00"
TWIN_OF_OPEN_DATA = "\uff2f\uff30\uff25\uff2e\u200b D\u0430ta"
"""Full-width OPEN, a zero-width space, and "Data" with a Cyrillic a."""


def hackathon_body(**changes: Any) -> Json:
    body: Json = {
        "name": f"Bounds {secrets.token_hex(4)}",
        "challenges": [{"title": "Open data"}, {"title": "Digital skills"}],
        "min_team_size": 1,
        "max_team_size": 4,
        "max_teams": 10,
        "submission_deadline": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "rubric": {"criteria": [{"key": "impact", "weight": 2}, {"key": "reach", "weight": 1}]},
        "judges_per_submission": 1,
        "awards": [{"name": "Seed grant", "rank": 1, "kind": "grant", "amount": 5000}],
    }
    body.update(changes)
    return body


def the_field(answer: httpx.Response) -> str:
    """The one field a 422 problem names."""
    problem = assert_problem(answer, 422, "validation")
    fields = [error["field"] for error in problem["errors"]]
    assert len(fields) == 1 and all(e["message"] for e in problem["errors"]), problem
    return str(fields[0])


async def hackathon_ids(api: Api) -> set[str]:
    return {h["hackathon_id"] for h in await every_item(api, "/hackathons")}


async def create_team_named(
    api: Api, hackathon: Hackathon, auth: Auth, name: str
) -> httpx.Response:
    return await api.http.post(
        f"/hackathons/{hackathon.hackathon_id}/teams",
        headers=auth,
        json={"name": name, "challenge_id": hackathon.challenge_ids[0]},
    )


async def test_out_of_range_numbers_and_dates_create_no_hackathon(api: Api) -> None:
    organizer = await api.organizer()
    before = await hackathon_ids(api)
    criteria = [{"key": "impact", "weight": 2}]
    refused = [
        ({"submission_deadline": HOSTILE_DEADLINE}, "submission_deadline"),
        ({"submission_deadline": "2101-01-01T00:00:00Z"}, "submission_deadline"),
        ({"submission_deadline": "2000-01-01T00:30:00+01:00"}, "submission_deadline"),
        ({"rubric": {"criteria": [{**criteria[0], "weight": 1e308}]}}, "rubric.criteria.0.weight"),
        ({"rubric": {"criteria": [{**criteria[0], "weight": True}]}}, "rubric.criteria.0.weight"),
        ({"rubric": {"criteria": [{**criteria[0], "max": 1e300}]}}, "rubric.criteria.0.max"),
        ({"max_teams": "10"}, "max_teams"),
        ({"max_team_size": True}, "max_team_size"),
        ({"awards": [{"name": "Grant", "rank": 10**20, "kind": "grant"}]}, "awards.0.rank"),
        ({"awards": [{"name": "Grant", "rank": 1, "kind": "grant", "amount": "5000"}]},
         "awards.0.amount"),
        ({"organisation": "ACME"}, "organisation"),
        ({"challenges": [{"title": "Open data", "budget": 10}]}, "challenges.0.budget"),
        ({"name": "\u200b\u2060 \u3000"}, "name"),
        ({"name": "Hack\x00athon"}, "name"),
        ({"description": "NUL \x00 inside"}, "description"),
        ({"challenges": [{"title": "Open data"}, {"title": TWIN_OF_OPEN_DATA}]}, "challenges"),
    ]  # fmt: skip
    for changes, field in refused:
        answer = await api.http.post(
            "/hackathons", headers=organizer, json=hackathon_body(**changes)
        )
        assert the_field(answer) == field, (changes, answer.text)
    # NaN and Infinity, which a JSON parser may accept, are not numbers here.
    raw = json.dumps(hackathon_body()).replace('"weight": 2', '"weight": NaN')
    answer = await api.http.post(
        "/hackathons", headers={**organizer, "content-type": "application/json"}, content=raw
    )
    assert the_field(answer) == "rubric.criteria.0.weight", answer.text
    assert await hackathon_ids(api) == before

    # The edges of the range are accepted, and the text is stored normalised.
    accepted = await api.http.post(
        "/hackathons",
        headers=organizer,
        json=hackathon_body(
            name="  Cafe\u0301   civique ",
            description="Line one\r\nline two",
            submission_deadline="2101-01-01T13:59:59+14:00",  # 2100-12-31T23:59:59Z
            rubric={"criteria": [{"key": "impact", "weight": 1000, "min": -1e6, "max": 1e6}]},
        ),
    )
    assert accepted.status_code == 201, accepted.text
    shown = accepted.json()
    assert (shown["name"], shown["description"]) == ("Caf\u00e9 civique", "Line one\nline two")
    assert datetime.fromisoformat(shown["submission_deadline"]) == datetime(
        2100, 12, 31, 23, 59, 59, tzinfo=UTC
    )


async def test_a_cursor_holding_an_extreme_date_is_the_cursor_422(api: Api) -> None:
    hackathon = await create_hackathon(api)
    for position in ([HOSTILE_DEADLINE, "hck_x"], ["0001-01-01T00:00:00+14:00", "x"]):
        cursor = encode_cursor(position)
        for path in ("/hackathons", f"/hackathons/{hackathon.hackathon_id}/teams"):
            answer = await api.http.get(path, params={"cursor": cursor})
            assert the_field(answer) == "cursor", (path, answer.text)


async def test_unknown_query_parameters_are_refused_by_name(api: Api) -> None:
    hackathon = await create_hackathon(api)
    answer = await api.http.get("/hackathons", params={"version": "2", "limit": 5})
    assert the_field(answer) == "version"
    answer = await api.http.get(f"/hackathons/{hackathon.hackathon_id}", params={"expand": "all"})
    assert the_field(answer) == "expand"
    # The parameters a route declares still work.
    listed = await api.http.get("/hackathons", params={"limit": 1})
    assert listed.status_code == 200 and len(listed.json()["items"]) == 1


async def test_unknown_body_fields_and_blank_names_create_no_account(api: Api) -> None:
    email = unique_email("bounded")
    body = {"email": email, "password": PASSWORD, "display_name": "Ada"}
    for changes, field in (
        ({"organisation": "ACME"}, "organisation"),
        ({"roles": ["organizer"]}, "roles"),  # no mass assignment, and no silent drop either
        ({"display_name": "\u200b\u200b"}, "display_name"),
        ({"display_name": "Ada\x00"}, "display_name"),
    ):
        assert the_field(await api.http.post("/accounts", json={**body, **changes})) == field
    assert_problem(
        await api.http.post("/auth/token", json={"email": email, "password": PASSWORD}), 401
    )
    assert (await api.http.post("/accounts", json=body)).status_code == 201


async def test_team_names_that_only_look_different_are_one_name(api: Api) -> None:
    hackathon = await create_hackathon(api, max_teams=10)
    first = await participant(api, hackathon, "First")
    second = await participant(api, hackathon, "Second")
    created = await create_team_named(api, hackathon, first.auth, "  Open Data   Owls ")
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Open Data Owls"

    for twin in (
        "open data owls\u200b",  # zero-width space
        "\u041epen Data Owls",  # Cyrillic capital O
        "\u039fpen D\u03b1ta Owls",  # Greek capital omicron, small alpha
        "\uff2f\uff50\uff45\uff4e \uff24\uff41\uff54\uff41 \uff2f\uff57\uff4c\uff53",  # full-width
        "Open Data Owls\u2060",  # word joiner
        "Open Data Ow\u00adls",  # soft hyphen
    ):
        answer = await create_team_named(api, hackathon, second.auth, twin)
        assert_problem(answer, 409, "team-name-taken")
    for refused in (
        "\u202eslwO ataD nepO",  # right-to-left override
        "\u200b\u200b\u200b",  # zero-width only
        " \u3000 \u2800 ",  # white space and a Braille blank only
        "Owls\x00",
        "Open Data\nOwls",
        "x" * 101,
    ):
        assert the_field(await create_team_named(api, hackathon, second.auth, refused)) == "name"

    # Nothing of that made a team, and the refused person is still in none.
    teams = await every_item(api, f"/hackathons/{hackathon.hackathon_id}/teams")
    assert [t["team_id"] for t in teams] == [created.json()["team_id"]]
    composed = await create_team_named(api, hackathon, second.auth, "Cafe\u0301 Crew")
    assert composed.status_code == 201, composed.text
    assert composed.json()["name"] == "Caf\u00e9 Crew"  # NFC
    third = await participant(api, hackathon, "Third")
    assert_problem(
        await create_team_named(api, hackathon, third.auth, "CAF\u00c9 CREW"),
        409,
        "team-name-taken",
    )


async def test_submission_text_and_links_are_checked_and_nothing_is_stored(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    captain = await participant(api, hackathon, "Captain")
    team = await team_of(api, hackathon, captain)
    await move_to(api, hackathon, "hacking")
    tid = team["team_id"]
    for changes, field in (
        ({"title": "\u200b\u200b\u200b\u200b"}, "title"),
        ({"title": "A\x00BC"}, "title"),
        ({"summary": "\n\t\u200b\n"}, "summary"),
        ({"summary": "bell \x07"}, "summary"),
        ({"repo_url": "https://git.example.org/x\r\nX-Injected: yes"}, "repo_url"),
        ({"demo_url": "https://demo.example.org/\x00"}, "demo_url"),
        ({"organisation": "ACME"}, "organisation"),
    ):
        answer = await put_submission(api, tid, captain.auth, submission_body(**changes))
        assert the_field(answer) == field, (changes, answer.text)
    assert_problem(await get_submission(api, tid, captain.auth), 404, "submission-not-found")

    stored = await submit(
        api, tid, captain, submission_body(title=" Mesh   map ", summary="One\r\ntwo\tthree")
    )
    assert (stored["title"], stored["summary"]) == ("Mesh map", "One\ntwo\tthree")


async def test_scores_must_be_numbers_and_a_refused_score_changes_nothing(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    captain = await participant(api, hackathon, "Captain")
    judge = await participant(api, hackathon, "Judge")
    team = await team_of(api, hackathon, captain)
    await enrol_judge(api, hackathon, judge)
    await move_to(api, hackathon, "hacking")
    submission = await submit(api, team["team_id"], captain)
    await move_to(api, hackathon, "judging")
    organizer = await api.organizer()
    assigned = await api.http.post(
        f"/hackathons/{hackathon.hackathon_id}/assignments", headers=organizer
    )
    assert assigned.status_code == 200, assigned.text
    path = f"/submissions/{submission['submission_id']}/scores/me"

    for value in (True, "5", None, [5], 1e7):
        answer = await api.http.put(
            path, headers=judge.auth, json={"scores": {"impact": value, "feasibility": 5}}
        )
        assert the_field(answer) == "scores.impact", (value, answer.text)
    for raw in ('{"scores": {"impact": NaN, "feasibility": 5}}',
                '{"scores": {"impact": 5, "feasibility": Infinity}}'):  # fmt: skip
        answer = await api.http.put(
            path, headers={**judge.auth, "content-type": "application/json"}, content=raw
        )
        assert the_field(answer).startswith("scores."), answer.text
    forged = {
        "scores": {"impact": 5, "feasibility": 5},
        "total": 10,
        "judge_id": captain.account_id,
    }
    problem = assert_problem(await api.http.put(path, headers=judge.auth, json=forged), 422)
    assert sorted(e["field"] for e in problem["errors"]) == ["judge_id", "total"], problem

    [mine] = (await api.http.get("/judging/assignments", headers=judge.auth)).json()["items"]
    assert mine["scored"] is False
    scored = await api.http.put(
        path, headers=judge.auth, json={"scores": {"impact": 7, "feasibility": 4.5}}
    )
    assert scored.status_code == 200, scored.text
    assert scored.json()["revision"] == 1  # nothing before counted as a revision
    assert scored.json()["scores"] == {"impact": 7.0, "feasibility": 4.5}


async def test_a_webhook_url_with_control_characters_is_not_stored(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="draft")
    organizer = await api.organizer()
    path = f"/hackathons/{hackathon.hackathon_id}/webhooks"
    secret = "a-long-enough-secret"
    for url in ("http://127.0.0.1:9/hook\r\nX-Injected: yes", "http://127.0.0.1:9/ho ok",
                "http://127.0.0.1:9/hook\x00", "http://127.0.0.1:9/\u202ekooh"):  # fmt: skip
        answer = await api.http.post(path, headers=organizer, json={"url": url, "secret": secret})
        assert the_field(answer) == "url", (url, answer.text)
    answer = await api.http.post(
        path, headers=organizer, json={"url": "http://127.0.0.1:9/hook", "secret": "\x00" * 16}
    )
    assert the_field(answer) == "secret"
    listed = await api.http.get(path, headers=organizer)
    assert listed.status_code == 200 and listed.json() == []


async def test_a_refused_phase_change_leaves_the_phase(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="draft")
    organizer = await api.organizer()
    answer = await api.http.post(
        f"/hackathons/{hackathon.hackathon_id}/phase",
        headers=organizer,
        json={"phase": "registration", "force": True},
    )
    assert the_field(answer) == "force"
    shown = await api.http.get(f"/hackathons/{hackathon.hackathon_id}")
    assert shown.json()["phase"] == "draft"
