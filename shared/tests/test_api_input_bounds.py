"""Request bodies of the public API are bounded, strict and closed (docs/input-rules.md):
unknown fields, numbers that are not numbers, non-finite or huge numbers, times outside the
years 2000 to 2100 UTC and cursors holding such times are refused, each naming its field."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from hackathon_shared.api import accounts, hackathons, judging, notifications, submissions
from hackathon_shared.api.inputs import InputModel
from hackathon_shared.api.timestamps import EARLIEST, LATEST, within_range
from hackathon_shared.pagination import decode_cursor, encode_cursor
from hackathon_shared.problems import ProblemError

HACKATHON: dict[str, Any] = {
    "name": "Digital Citizenship Hackathon",
    "challenges": [{"title": "Trustworthy e-government"}, {"title": "Digital skills"}],
    "min_team_size": 1,
    "max_team_size": 4,
    "max_teams": 20,
    "submission_deadline": "2030-06-01T18:00:00+02:00",
    "rubric": {
        "criteria": [
            {"key": "impact", "weight": 3},
            {"key": "inclusion", "weight": 1.5, "min": 0, "max": 5},
        ]
    },
    "judges_per_submission": 1,
    "awards": [{"name": "Seed grant", "rank": 1, "kind": "grant", "amount": 5000}],
}

VALID_BODIES: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (accounts.NewAccount, {"email": "ada@example.org", "password": "x" * 10, "display_name": "A"}),
    (accounts.Credentials, {"email": "ada@example.org", "password": "secret"}),
    (hackathons.NewHackathon, HACKATHON),
    (hackathons.PhaseChange, {"phase": "registration"}),
    (hackathons.NewRegistration, {"sector": "academia", "consent": True}),
    (hackathons.NewTeam, {"name": "Owls", "challenge_id": "chl_1"}),
    (hackathons.JoinTeam, {"invite_code": "code"}),
    (hackathons.NewJudge, {"email": "dee@example.org", "conflicts": []}),
    (hackathons.JudgeConflicts, {"conflicts": ["team_1"]}),
    (submissions.SubmissionIn, {"title": "Mesh", "summary": "s", "kind": "social"}),
    (judging.ScoresIn, {"scores": {"impact": 7}}),
    (notifications.NewWebhook, {"url": "https://example.org/h", "secret": "s" * 16}),
]


def refused_fields(model: type[BaseModel], body: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    return [".".join(str(p) for p in error["loc"]) for error in refused.value.errors()]


def with_change(path: str, value: Any, body: dict[str, Any] = HACKATHON) -> dict[str, Any]:
    """``body`` with the value at the dotted ``path`` replaced (list indexes as numbers)."""
    changed = copy.deepcopy(body)
    *parents, last = path.split(".")
    target: Any = changed
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return changed


def test_every_request_body_is_an_input_model_and_the_samples_are_valid() -> None:
    modules = (accounts, hackathons, judging, notifications, submissions)
    bodies = {
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, InputModel) and value is not InputModel
    }
    parts = {
        hackathons.ChallengeIn,
        hackathons.CriterionIn,
        hackathons.RubricIn,
        hackathons.AwardIn,
    }
    assert bodies - parts == {model for model, _ in VALID_BODIES}
    for model, body in VALID_BODIES:
        model.model_validate(body)


@pytest.mark.parametrize(("model", "body"), VALID_BODIES, ids=lambda v: getattr(v, "__name__", ""))
def test_an_unknown_field_is_refused_by_name(model: type[BaseModel], body: dict[str, Any]) -> None:
    assert refused_fields(model, {**body, "organisation": "ACME"}) == ["organisation"]


def test_unknown_fields_are_refused_inside_nested_parts_too() -> None:
    nested = with_change("rubric.criteria.0", {"key": "impact", "weight": 1, "colour": "red"})
    assert refused_fields(hackathons.NewHackathon, nested) == ["rubric.criteria.0.colour"]
    nested = with_change("challenges.0", {"title": "T", "budget": 1})
    assert refused_fields(hackathons.NewHackathon, nested) == ["challenges.0.budget"]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("rubric.criteria.0.weight", 1e308),
        ("rubric.criteria.0.weight", 1001),
        ("rubric.criteria.0.weight", 0),
        ("rubric.criteria.0.weight", float("nan")),
        ("rubric.criteria.0.weight", float("inf")),
        ("rubric.criteria.0.weight", True),
        ("rubric.criteria.0.weight", "3"),
        ("rubric.criteria.1.max", 1e300),
        ("rubric.criteria.1.min", -1e7),
        ("rubric.criteria.1.min", False),
        ("awards.0.amount", 1e13),
        ("awards.0.amount", -1),
        ("awards.0.amount", "5000"),
        ("awards.0.rank", 10**30),
        ("awards.0.rank", True),
        ("awards.0.rank", 1.0),
        ("max_teams", 10_001),
        ("max_teams", "20"),
        ("max_teams", True),
        ("max_team_size", 101),
        ("min_team_size", 2.5),
        ("judges_per_submission", "1"),
    ],
)
def test_numbers_are_strict_finite_and_bounded(path: str, value: Any) -> None:
    fields = refused_fields(hackathons.NewHackathon, with_change(path, value))
    assert fields == [path], fields


def test_the_bounds_themselves_are_accepted() -> None:
    body = with_change("rubric.criteria.0", {"key": "k", "weight": 1000, "min": -1e6, "max": 1e6})
    body = with_change("awards.0.amount", 1e12, body)
    body = with_change("awards.0.rank", 10_000, body)
    body = with_change("max_teams", 10_000, body)
    accepted = hackathons.NewHackathon.model_validate(body)
    assert accepted.rubric.criteria[0].weight == 1000
    assert accepted.rubric.criteria[1].weight == 1.5  # an integer where a number is expected


@pytest.mark.parametrize(
    "value", [True, False, "5", "7.5", None, float("nan"), float("-inf"), 1e7, -1e7, [5]]
)
def test_a_score_must_be_a_finite_number_within_the_scale_limit(value: Any) -> None:
    fields = refused_fields(judging.ScoresIn, {"scores": {"impact": value}})
    assert fields == ["scores.impact"], fields


def test_a_score_may_be_an_integer_or_a_decimal() -> None:
    scores = judging.ScoresIn.model_validate({"scores": {"impact": 7, "reach": 6.5}}).scores
    assert scores == {"impact": 7.0, "reach": 6.5}
    assert all(type(v) is float for v in scores.values())


@pytest.mark.parametrize(
    "deadline",
    [
        "9999-12-31T23:59:59-14:00",  # past year 9999 in UTC: cannot even be converted
        "0001-01-01T00:00:00+14:00",
        "2101-01-01T00:00:00Z",
        "2100-12-31T23:30:00-01:00",  # still 2100 where it was written, 2101 in UTC
        "1999-12-31T23:59:59.999999Z",
        "2000-01-01T00:30:00+01:00",  # 1999 in UTC
    ],
)
def test_a_deadline_outside_the_years_2000_to_2100_utc_is_refused(deadline: str) -> None:
    fields = refused_fields(hackathons.NewHackathon, with_change("submission_deadline", deadline))
    assert fields == ["submission_deadline"]


def test_the_first_and_last_instants_of_the_range_are_accepted_as_given() -> None:
    for deadline in ("2000-01-01T00:00:00Z", "2100-12-31T23:59:59.999999Z",
                     "2101-01-01T13:59:59+14:00"):  # fmt: skip
        body = with_change("submission_deadline", deadline)
        accepted = hackathons.NewHackathon.model_validate(body).submission_deadline
        assert accepted == datetime.fromisoformat(deadline)
        assert accepted.utcoffset() == datetime.fromisoformat(deadline).utcoffset()
    assert within_range(EARLIEST) and not within_range(LATEST)
    assert within_range(datetime(2050, 1, 1))  # naive: read as UTC


def test_challenge_titles_of_one_hackathon_must_differ_by_their_comparison_key() -> None:
    for twin in (
        "DIGITAL SKILLS",
        "\uff24\uff49\uff47\uff49\uff54\uff41\uff4c \uff53\uff4b\uff49\uff4c\uff4c\uff53",
        "Digital\u200b skills",
        "Digit\u0430l skills",
    ):
        body = with_change("challenges.1", {"title": twin})
        body = with_change("challenges.0", {"title": "Digital skills"}, body)
        assert refused_fields(hackathons.NewHackathon, body) == ["challenges"], twin


def test_text_fields_are_normalised_in_every_body() -> None:
    team = hackathons.NewTeam.model_validate({"name": " Cafe\u0301  Owls ", "challenge_id": "c"})
    assert team.name == "Caf\u00e9 Owls"
    submission = submissions.SubmissionIn.model_validate(
        {"title": "  Mesh  map ", "summary": "one\r\ntwo", "kind": "social"}
    )
    assert (submission.title, submission.summary) == ("Mesh map", "one\ntwo")
    for model, body, field in (
        (hackathons.NewTeam, {"name": "\u200b\u200b", "challenge_id": "c"}, "name"),
        (hackathons.NewTeam, {"name": "Owls\x00", "challenge_id": "c"}, "name"),
        (hackathons.NewTeam, {"name": "Owls", "challenge_id": "c\x00"}, "challenge_id"),
        (accounts.NewAccount, {**VALID_BODIES[0][1], "display_name": " \u3000 "}, "display_name"),
        (submissions.SubmissionIn, {"title": "\u2060" * 5, "summary": "s", "kind": "social"},
         "title"),
        (submissions.SubmissionIn, {"title": "Mesh", "summary": "\u200b\n", "kind": "social"},
         "summary"),
        (judging.ScoresIn, {"scores": {"impact": 1}, "comment": "a\x00b"}, "comment"),
        (notifications.NewWebhook, {"url": "https://example.org/\r\nX: y", "secret": "s" * 16},
         "url"),
        (hackathons.NewJudge, {"email": "dee@example.org", "conflicts": ["team\x00"]},
         "conflicts.0"),
    ):  # fmt: skip
        assert refused_fields(model, body) == [field], (model, body)


def test_the_gateway_forwards_what_the_service_accepts_again() -> None:
    """The gateway validates the body and forwards its normalised JSON; the service validates
    that again, and must reach the same value (normalisation is idempotent)."""
    for model, body in VALID_BODIES:
        first = model.model_validate(body)
        assert model.model_validate_json(first.model_dump_json()) == first


# ---- cursors


def test_a_cursor_must_hold_a_time_in_range_and_an_id() -> None:
    now = datetime.now(UTC).isoformat()
    assert decode_cursor(encode_cursor([now, "ntf_1"])) == [now, "ntf_1"]
    assert decode_cursor(None) is None
    for position in (
        ["9999-12-31T23:59:59-14:00", "ntf_1"],
        ["0001-01-01T00:00:00+14:00", "ntf_1"],
        ["2101-01-01T00:00:00+00:00", "ntf_1"],
        ["1999-06-01T00:00:00", "ntf_1"],
        ["not a time", "ntf_1"],
        [20300101, "ntf_1"],
        [now],
        [now, "ntf_1", "extra"],
        [],
    ):
        with pytest.raises(ProblemError) as refused:
            decode_cursor(encode_cursor(position))
        assert refused.value.status == 422
        assert refused.value.extra["errors"][0]["field"] == "cursor"
