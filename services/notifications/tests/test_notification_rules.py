"""Who hears what (notifications_for, teams_concerned) and how it reads (render): pure
functions, checked per event kind and, with hypothesis, over arbitrary teams and names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from hackathon_shared.events.catalogue import (
    AccountCreated,
    AccountCreatedPayload,
    AccountErased,
    AccountErasedPayload,
    AwardGranted,
    HackathonPhaseChanged,
    HackathonPhaseChangedPayload,
    JudgeAssigned,
    JudgeAssignedPayload,
    JudgeEnrolled,
    JudgeEnrolledPayload,
    RankingEntry,
    ResultsPublished,
    ResultsPublishedPayload,
    ScoreSubmitted,
    ScoreSubmittedPayload,
    SeenFact,
    SubmissionReceived,
    SubmissionReceivedPayload,
    TeamMemberJoined,
    TeamMemberJoinedPayload,
    TeamMemberLeft,
    TeamMemberLeftPayload,
    TeamRegistered,
    TeamRegisteredPayload,
    TeamWithdrawn,
    TeamWithdrawnPayload,
)
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope, seal
from notifications.domain.rules import (
    KINDS,
    NotificationDraft,
    notifications_for,
    teams_concerned,
)
from notifications.domain.templates import (
    UNKNOWN_HACKATHON,
    UNKNOWN_TEAM,
    UNNAMED_PERSON,
    Names,
    account_ids_in,
    render,
)

HACKATHON = "hk_1"
TEAM = "team_1"
START = datetime(2026, 11, 1, tzinfo=UTC)


def sealed(cls: type[Envelope], payload: BaseModel, aggregate_id: str) -> Envelope:
    return seal(cls, payload=payload, aggregate_id=aggregate_id, sequence=1, prev_hash=GENESIS_HASH)


def team_registered(members: Sequence[str], team_id: str = TEAM) -> Envelope:
    return sealed(
        TeamRegistered,
        TeamRegisteredPayload(
            team_id=team_id,
            hackathon_id=HACKATHON,
            name="Rockets",
            challenge_id="ch_1",
            captain_id=members[0],
            members=list(members),
        ),
        team_id,
    )


def member_joined(account_id: str, team_id: str = TEAM) -> Envelope:
    return sealed(
        TeamMemberJoined,
        TeamMemberJoinedPayload(team_id=team_id, hackathon_id=HACKATHON, account_id=account_id),
        team_id,
    )


def member_left(account_id: str, new_captain_id: str | None = None) -> Envelope:
    return sealed(
        TeamMemberLeft,
        TeamMemberLeftPayload(
            team_id=TEAM,
            hackathon_id=HACKATHON,
            account_id=account_id,
            new_captain_id=new_captain_id,
        ),
        TEAM,
    )


def submission_received(team_id: str = TEAM, team_sequence: int | None = None) -> Envelope:
    seen = (
        []
        if team_sequence is None
        else [
            SeenFact(producer="registration", aggregate_id=HACKATHON, sequence=7),
            SeenFact(producer="registration", aggregate_id=team_id, sequence=team_sequence),
        ]
    )
    return sealed(
        SubmissionReceived,
        SubmissionReceivedPayload(
            submission_id="sub_1",
            hackathon_id=HACKATHON,
            team_id=team_id,
            challenge_id="ch_1",
            version=2,
            title="Water for all",
            summary="Cheap sensors",
            kind="technology",
            submitted_by="acc_a",
            first_submitted_at=START,
            seen=seen,
        ),
        "sub_1",
    )


def judge_enrolled(judge_id: str = "acc_judge") -> Envelope:
    return sealed(
        JudgeEnrolled,
        JudgeEnrolledPayload(hackathon_id=HACKATHON, judge_id=judge_id, conflicts=[]),
        HACKATHON,
    )


def judge_assigned(judge_id: str = "acc_judge") -> Envelope:
    return sealed(
        JudgeAssigned,
        JudgeAssignedPayload(
            hackathon_id=HACKATHON, submission_id="sub_1", team_id=TEAM, judge_id=judge_id
        ),
        "sub_1",
    )


def account_created(account_id: str = "acc_new") -> Envelope:
    return sealed(
        AccountCreated,
        AccountCreatedPayload(account_id=account_id, roles=["participant"]),
        account_id,
    )


def results_published(
    ranking: Sequence[tuple[str, float]],
    awards: Sequence[AwardGranted],
    seen: Sequence[SeenFact] = (),
) -> Envelope:
    return sealed(
        ResultsPublished,
        ResultsPublishedPayload(
            hackathon_id=HACKATHON,
            entries=[
                RankingEntry(
                    rank=position + 1,
                    submission_id=f"sub_{team_id}",
                    team_id=team_id,
                    score=score,
                    judges=3,
                )
                for position, (team_id, score) in enumerate(ranking)
            ],
            awards=list(awards),
            published_by="acc_org",
            seen=list(seen),
        ),
        HACKATHON,
    )


def recipients(drafts: Sequence[NotificationDraft]) -> list[str]:
    return [d.account_id for d in drafts]


def only_kind(drafts: Sequence[NotificationDraft]) -> str:
    kinds = {d.kind for d in drafts}
    assert len(kinds) == 1, kinds
    return kinds.pop()


# --------------------------------------------------------------------------------------------
# Who hears what
# --------------------------------------------------------------------------------------------


def test_account_created_welcomes_the_new_account() -> None:
    event = account_created("acc_new")
    assert teams_concerned(event) == {}
    assert notifications_for(event, {}) == [NotificationDraft("acc_new", "welcome")]


def test_team_registered_tells_every_member_once() -> None:
    event = team_registered(["acc_a", "acc_b", "acc_c"])
    assert teams_concerned(event) == {}  # the event itself names the members
    drafts = notifications_for(event, {})
    assert recipients(drafts) == ["acc_a", "acc_b", "acc_c"]
    assert only_kind(drafts) == "team_registered"
    assert all(d.context == {"team_id": TEAM, "hackathon_id": HACKATHON} for d in drafts)


def test_team_member_joined_tells_the_members_before_and_the_joiner() -> None:
    event = member_joined("acc_new")
    assert list(teams_concerned(event)) == [TEAM]
    drafts = notifications_for(event, {TEAM: ["acc_a", "acc_b"]})
    assert recipients(drafts) == ["acc_a", "acc_b", "acc_new"]
    assert only_kind(drafts) == "team_member_joined"
    assert all(d.context == {"team_id": TEAM, "member_id": "acc_new"} for d in drafts)


def test_team_member_joined_redelivered_after_the_view_has_the_joiner_is_not_doubled() -> None:
    drafts = notifications_for(member_joined("acc_new"), {TEAM: ["acc_a", "acc_new"]})
    assert recipients(drafts) == ["acc_a", "acc_new"]


def test_first_member_of_an_unknown_team_still_hears_of_joining() -> None:
    assert recipients(notifications_for(member_joined("acc_new"), {})) == ["acc_new"]


def test_team_member_left_tells_the_remaining_members_and_the_leaver() -> None:
    event = member_left("acc_a", new_captain_id="acc_b")
    assert list(teams_concerned(event)) == [TEAM]
    drafts = notifications_for(event, {TEAM: ["acc_a", "acc_b", "acc_c"]})
    assert sorted(recipients(drafts)) == ["acc_a", "acc_b", "acc_c"]
    assert len(drafts) == 3
    assert only_kind(drafts) == "team_member_left"
    for draft in drafts:
        assert draft.context == {
            "team_id": TEAM,
            "member_id": "acc_a",
            "new_captain_id": "acc_b",
        }


def test_team_member_left_when_the_view_no_longer_lists_the_leaver() -> None:
    drafts = notifications_for(member_left("acc_a"), {TEAM: ["acc_b"]})
    assert sorted(recipients(drafts)) == ["acc_a", "acc_b"]
    assert all(d.context["new_captain_id"] is None for d in drafts)


def test_submission_received_tells_the_team_members() -> None:
    event = submission_received()
    assert list(teams_concerned(event)) == [TEAM]
    drafts = notifications_for(event, {TEAM: ["acc_a", "acc_b"], "team_other": ["acc_x"]})
    assert recipients(drafts) == ["acc_a", "acc_b"]
    assert only_kind(drafts) == "submission_received"
    assert drafts[0].context == {
        "team_id": TEAM,
        "hackathon_id": HACKATHON,
        "submission_id": "sub_1",
        "title": "Water for all",
        "version": 2,
    }


# Membership events come on registration.events, another topic than the submission's. The
# submission names the team's sequence it was accepted on; it is applied only once this
# service's copy has reached it, and the team is taken as of that sequence.


def test_a_submission_names_the_team_as_it_was_accepted() -> None:
    assert teams_concerned(submission_received(team_sequence=5)) == {TEAM: 5}
    # Written before events named what they saw: the team as known here.
    assert teams_concerned(submission_received()) == {TEAM: None}


def test_only_the_teams_own_fact_gives_the_sequence_it_is_taken_as_of() -> None:
    def named(*facts: SeenFact) -> Envelope:
        event = submission_received()
        return event.model_copy(
            update={"payload": event.payload.model_copy(update={"seen": list(facts)})}
        )

    hackathon = SeenFact(producer="registration", aggregate_id=HACKATHON, sequence=7)
    other_team = SeenFact(producer="registration", aggregate_id="team_other", sequence=3)
    not_registration = SeenFact(producer="scoring", aggregate_id=TEAM, sequence=6)
    assert teams_concerned(named(hackathon, other_team, not_registration)) == {TEAM: None}
    own = SeenFact(producer="registration", aggregate_id=TEAM, sequence=2)
    assert teams_concerned(named(hackathon, own, other_team)) == {TEAM: 2}


def test_results_take_each_team_as_of_the_sequence_they_were_ranked_on() -> None:
    seen = [
        SeenFact(producer="registration", aggregate_id=HACKATHON, sequence=9),
        SeenFact(producer="registration", aggregate_id="team_a", sequence=3),
        SeenFact(producer="submissions", aggregate_id="sub_team_a", sequence=2),
        SeenFact(producer="registration", aggregate_id="team_b", sequence=1),
    ]
    event = results_published([("team_b", 9.0), ("team_a", 7.0), ("team_c", 5.0)], [], seen)
    # team_c named by nothing (an event written before results named what they saw).
    assert teams_concerned(event) == {"team_b": 1, "team_a": 3, "team_c": None}


def test_the_submitter_always_hears_of_their_submission() -> None:
    # A team not known here (an event written before teams were named).
    assert recipients(notifications_for(submission_received(), {})) == ["acc_a"]
    drafts = notifications_for(submission_received(team_sequence=4), {TEAM: ["acc_b"]})
    assert recipients(drafts) == ["acc_b", "acc_a"]


def test_judge_enrolled_tells_the_judge() -> None:
    event = judge_enrolled("acc_judge")
    assert teams_concerned(event) == {}
    assert notifications_for(event, {}) == [
        NotificationDraft("acc_judge", "judge_enrolled", {"hackathon_id": HACKATHON})
    ]


def test_judge_assigned_tells_the_judge_not_the_team() -> None:
    event = judge_assigned("acc_judge")
    assert teams_concerned(event) == {}
    drafts = notifications_for(event, {TEAM: ["acc_a"]})
    assert drafts == [
        NotificationDraft(
            "acc_judge",
            "judge_assigned",
            {"hackathon_id": HACKATHON, "team_id": TEAM, "submission_id": "sub_1"},
        )
    ]


def test_results_tell_each_member_their_own_rank_score_and_awards() -> None:
    awards = [
        AwardGranted(name="Gold", kind="grant", amount=5000.0, rank=1, team_id="team_b"),
        AwardGranted(name="Mentoring", kind="mentorship", rank=1, team_id="team_b"),
        AwardGranted(name="Silver", kind="other", rank=2, team_id="team_a"),
        AwardGranted(name="Unclaimed", kind="other", rank=9, team_id=None),
    ]
    event = results_published([("team_b", 8.123456), ("team_a", 7.5), ("team_c", 3.0)], awards)
    assert list(teams_concerned(event)) == ["team_b", "team_a", "team_c"]
    members = {"team_a": ["acc_a1", "acc_a2"], "team_b": ["acc_b1"], "team_c": ["acc_c1"]}
    drafts = notifications_for(event, members)
    assert sorted(recipients(drafts)) == ["acc_a1", "acc_a2", "acc_b1", "acc_c1"]
    assert only_kind(drafts) == "results_published"
    by_account = {d.account_id: d.context for d in drafts}
    assert by_account["acc_b1"] == {
        "hackathon_id": HACKATHON,
        "team_id": "team_b",
        "rank": 1,
        "teams": 3,
        "score": 8.1235,
        "awards": [
            {"name": "Gold", "kind": "grant", "amount": 5000.0},
            {"name": "Mentoring", "kind": "mentorship", "amount": None},
        ],
    }
    for account in ("acc_a1", "acc_a2"):
        assert by_account[account]["team_id"] == "team_a"
        assert by_account[account]["rank"] == 2
        assert by_account[account]["teams"] == 3
        assert by_account[account]["score"] == 7.5
        assert by_account[account]["awards"] == [
            {"name": "Silver", "kind": "other", "amount": None}
        ]
    assert by_account["acc_c1"]["rank"] == 3
    assert by_account["acc_c1"]["awards"] == []


def test_results_skip_teams_without_known_members() -> None:
    event = results_published([("team_a", 9.0), ("team_ghost", 1.0)], [])
    drafts = notifications_for(event, {"team_a": ["acc_a"]})
    assert recipients(drafts) == ["acc_a"]
    assert drafts[0].context["teams"] == 2


OTHER_EVENTS = [
    sealed(
        HackathonPhaseChanged,
        HackathonPhaseChangedPayload(
            hackathon_id=HACKATHON, from_phase="hacking", to_phase="judging", changed_by="acc_o"
        ),
        HACKATHON,
    ),
    sealed(
        TeamWithdrawn,
        TeamWithdrawnPayload(team_id=TEAM, hackathon_id=HACKATHON, reason="gave up"),
        TEAM,
    ),
    sealed(AccountErased, AccountErasedPayload(account_id="acc_a"), "acc_a"),
    sealed(
        ScoreSubmitted,
        ScoreSubmittedPayload(
            hackathon_id=HACKATHON,
            submission_id="sub_1",
            judge_id="acc_judge",
            scores={"impact": 7.0},
            total=7.0,
            revision=1,
        ),
        "sub_1",
    ),
]


@pytest.mark.parametrize("event", OTHER_EVENTS, ids=lambda e: e.type)
def test_other_events_notify_nobody(event: Envelope) -> None:
    assert teams_concerned(event) == {}
    assert notifications_for(event, {TEAM: ["acc_a"]}) == []


# --------------------------------------------------------------------------------------------
# Properties over arbitrary teams
# --------------------------------------------------------------------------------------------

accounts = st.sampled_from([f"acc_{i}" for i in range(8)])
member_lists = st.lists(accounts, max_size=8)


@settings(max_examples=200, deadline=None)
@given(before=member_lists, joiner=accounts)
def test_joining_reaches_everyone_before_and_the_joiner_exactly_once(
    before: list[str], joiner: str
) -> None:
    drafts = notifications_for(member_joined(joiner), {TEAM: before})
    got = recipients(drafts)
    assert len(got) == len(set(got))
    assert set(got) == {*before, joiner}


@settings(max_examples=200, deadline=None)
@given(before=member_lists, leaver=accounts, captain=st.none() | accounts)
def test_leaving_reaches_everyone_before_and_the_leaver_exactly_once(
    before: list[str], leaver: str, captain: str | None
) -> None:
    drafts = notifications_for(member_left(leaver, captain), {TEAM: before})
    got = recipients(drafts)
    assert len(got) == len(set(got))
    assert set(got) == {*before, leaver}
    assert all(d.context["new_captain_id"] == captain for d in drafts)


@settings(max_examples=200, deadline=None)
@given(members=st.lists(accounts, min_size=1, max_size=8))
def test_registration_reaches_each_listed_member_exactly_once(members: list[str]) -> None:
    got = recipients(notifications_for(team_registered(members), {}))
    assert got == list(dict.fromkeys(members))


@st.composite
def hackathon_results(
    draw: st.DrawFn,
) -> tuple[Envelope, dict[str, list[str]]]:
    """A ranking of teams with disjoint members (one team per person per hackathon) and
    awards for some of them."""
    team_count = draw(st.integers(min_value=0, max_value=6))
    teams = [f"team_{i}" for i in range(team_count)]
    people = iter(range(1000))
    members = {
        team: [f"acc_{next(people)}" for _ in range(draw(st.integers(min_value=0, max_value=4)))]
        for team in teams
    }
    scores = sorted(
        draw(
            st.lists(
                st.floats(min_value=0, max_value=10, allow_nan=False),
                min_size=team_count,
                max_size=team_count,
            )
        ),
        reverse=True,
    )
    awards = [
        AwardGranted(name=f"award_{i}", kind="other", rank=i + 1, team_id=team)
        for i, team in enumerate(
            draw(st.lists(st.none() | st.sampled_from(teams), max_size=5))
            if teams
            else draw(st.lists(st.none(), max_size=2))
        )
    ]
    return results_published(list(zip(teams, scores, strict=True)), awards), members


@settings(max_examples=200, deadline=None)
@given(case=hackathon_results())
def test_results_reach_each_member_once_with_only_their_team_s_facts(
    case: tuple[Envelope, dict[str, list[str]]],
) -> None:
    event, members = case
    assert isinstance(event, ResultsPublished)
    drafts = notifications_for(event, members)
    got = recipients(drafts)
    assert len(got) == len(set(got))
    assert set(got) == {a for team in members.values() for a in team}
    entries = {e.team_id: e for e in event.payload.entries}
    team_of = {a: team for team, accounts in members.items() for a in accounts}
    for draft in drafts:
        team = team_of[draft.account_id]
        assert draft.context["team_id"] == team
        assert draft.context["rank"] == entries[team].rank
        assert draft.context["teams"] == len(event.payload.entries)
        assert draft.context["score"] == round(entries[team].score, 4)
        assert [a["name"] for a in draft.context["awards"]] == [
            a.name for a in event.payload.awards if a.team_id == team
        ]


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

PEOPLE = {
    "acc_a": "Ada",
    "acc_b": "Bob",
    "acc_c": "Cy",
    "acc_new": "Nia",
    "acc_judge": "Judy",
    "acc_b1": "Bea",
}
ALL_NAMES = Names(
    people=PEOPLE,
    teams={TEAM: "Rockets", "team_b": "Bees"},
    hackathons={HACKATHON: "Water Jam"},
)
NO_NAMES = Names()


def every_kind_of_draft() -> list[NotificationDraft]:
    """At least one draft of every kind, from the rules themselves."""
    awards = [
        AwardGranted(name="Gold", kind="grant", amount=5000.0, rank=1, team_id="team_b"),
        AwardGranted(name="Mentoring", kind="mentorship", rank=1, team_id="team_b"),
    ]
    cases: list[tuple[Envelope, Mapping[str, Sequence[str]]]] = [
        (account_created("acc_new"), {}),
        (team_registered(["acc_a", "acc_b"]), {}),
        (member_joined("acc_new"), {TEAM: ["acc_a"]}),
        (member_left("acc_a", new_captain_id="acc_b"), {TEAM: ["acc_a", "acc_b", "acc_c"]}),
        (member_left("acc_c"), {TEAM: ["acc_a", "acc_c"]}),
        (submission_received(), {TEAM: ["acc_a"]}),
        (judge_enrolled(), {}),
        (judge_assigned(), {}),
        (results_published([("team_b", 9.5), (TEAM, 4.25)], awards), {"team_b": ["acc_b1"]}),
        (results_published([("team_b", 9.5), (TEAM, 4.25)], awards), {TEAM: ["acc_a"]}),
    ]
    drafts = [d for event, members in cases for d in notifications_for(event, members)]
    assert {d.kind for d in drafts} == set(KINDS)
    return drafts


DRAFTS = every_kind_of_draft()


def draft_id(draft: NotificationDraft) -> str:
    return f"{draft.kind}-{draft.account_id}"


@pytest.mark.parametrize("names", [ALL_NAMES, NO_NAMES], ids=["names-known", "no-names"])
@pytest.mark.parametrize("draft", DRAFTS, ids=draft_id)
def test_every_kind_renders_a_one_line_subject_and_a_body(
    draft: NotificationDraft, names: Names
) -> None:
    rendered = render(draft.kind, draft.context, draft.account_id, names)
    assert rendered.subject and rendered.body
    assert "\n" not in rendered.subject
    assert rendered.subject == rendered.subject.strip()
    assert "{{" not in rendered.body and "{%" not in rendered.body
    # Ids are looked up, never shown: neither the recipient's nor anyone else's.
    for account in account_ids_in(draft.context, draft.account_id):
        assert account not in rendered.subject and account not in rendered.body
    for value in (draft.context.get("team_id"), draft.context.get("hackathon_id")):
        if value is not None:
            assert value not in rendered.subject and value not in rendered.body


@pytest.mark.parametrize("draft", DRAFTS, ids=draft_id)
def test_known_names_appear_and_fallbacks_do_not(draft: NotificationDraft) -> None:
    rendered = render(draft.kind, draft.context, draft.account_id, ALL_NAMES)
    text = f"{rendered.subject}\n{rendered.body}"
    assert UNNAMED_PERSON not in text
    if "hackathon_id" in draft.context:
        assert "Water Jam" in text
        assert UNKNOWN_HACKATHON not in text


@pytest.mark.parametrize("draft", DRAFTS, ids=draft_id)
def test_unknown_names_render_as_the_neutral_fallbacks(draft: NotificationDraft) -> None:
    rendered = render(draft.kind, draft.context, draft.account_id, NO_NAMES)
    text = f"{rendered.subject}\n{rendered.body}"
    for name in (*PEOPLE.values(), "Rockets", "Bees", "Water Jam"):
        assert name not in text
    if "hackathon_id" in draft.context:
        assert UNKNOWN_HACKATHON in text
    others = account_ids_in(draft.context, draft.account_id) - {draft.account_id}
    if others:
        assert UNNAMED_PERSON in text


def test_an_erased_member_reads_as_a_participant_never_as_their_id() -> None:
    [to_ada] = [
        d
        for d in notifications_for(member_joined("acc_erased"), {TEAM: ["acc_a"]})
        if d.account_id == "acc_a"
    ]
    names = Names(people={"acc_a": "Ada"}, teams={TEAM: "Rockets"})  # acc_erased: no details
    rendered = render(to_ada.kind, to_ada.context, "acc_a", names)
    assert rendered.subject == f"{UNNAMED_PERSON} joined Rockets"
    assert rendered.body == f"{UNNAMED_PERSON} is now a member of your team Rockets."
    assert "acc_erased" not in rendered.subject + rendered.body


def test_welcome_greets_by_name_or_neutrally() -> None:
    named = render("welcome", {}, "acc_new", Names(people={"acc_new": "Nia"}))
    assert named.body.startswith("Hello Nia,")
    anonymous = render("welcome", {}, "acc_new", NO_NAMES)
    assert anonymous.body.startswith("Hello there,")
    assert "acc_new" not in anonymous.body


def test_the_joiner_reads_you_joined_and_the_others_read_their_name() -> None:
    drafts = notifications_for(member_joined("acc_new"), {TEAM: ["acc_a"]})
    by_recipient = {
        d.account_id: render(d.kind, d.context, d.account_id, ALL_NAMES) for d in drafts
    }
    assert by_recipient["acc_new"].subject == "You joined Rockets"
    assert by_recipient["acc_new"].body == "You are now a member of the team Rockets."
    assert by_recipient["acc_a"].subject == "Nia joined Rockets"
    assert by_recipient["acc_a"].body == "Nia is now a member of your team Rockets."


def test_the_leaver_reads_you_left_and_the_new_captain_reads_you_are_captain() -> None:
    drafts = notifications_for(
        member_left("acc_a", new_captain_id="acc_b"), {TEAM: ["acc_a", "acc_b", "acc_c"]}
    )
    by_recipient = {
        d.account_id: render(d.kind, d.context, d.account_id, ALL_NAMES) for d in drafts
    }
    assert by_recipient["acc_a"].subject == "You left Rockets"
    assert by_recipient["acc_a"].body == (
        "You are no longer a member of the team Rockets. Bob is the team's captain now."
    )
    assert by_recipient["acc_b"].subject == "Ada left Rockets"
    assert by_recipient["acc_b"].body == (
        "Ada is no longer a member of your team Rockets. You are the team's captain now."
    )
    assert by_recipient["acc_c"].body == (
        "Ada is no longer a member of your team Rockets. Bob is the team's captain now."
    )


def test_leaving_without_a_new_captain_says_nothing_of_captaincy() -> None:
    [draft] = notifications_for(member_left("acc_a"), {})
    rendered = render(draft.kind, draft.context, "acc_a", ALL_NAMES)
    assert "captain" not in rendered.body


def test_results_read_rank_score_and_own_awards() -> None:
    awards = [
        AwardGranted(name="Gold", kind="grant", amount=5000.0, rank=1, team_id="team_b"),
        AwardGranted(name="Mentoring", kind="mentorship", rank=1, team_id="team_b"),
        AwardGranted(name="Silver", kind="other", rank=2, team_id=TEAM),
    ]
    event = results_published([("team_b", 9.5), (TEAM, 4.25)], awards)
    drafts = notifications_for(event, {"team_b": ["acc_b1"], TEAM: ["acc_a"]})
    by_recipient = {
        d.account_id: render(d.kind, d.context, d.account_id, ALL_NAMES) for d in drafts
    }
    winner = by_recipient["acc_b1"]
    assert winner.subject == "Results of Water Jam: your team ranked 1 of 2"
    assert "Bees ranked 1 of 2 with a score of 9.5." in winner.body
    assert 'the award "Gold" (grant, 5000.0)' in winner.body
    assert 'the award "Mentoring" (mentorship).' in winner.body
    assert "Silver" not in winner.body
    second = by_recipient["acc_a"]
    assert "Rockets ranked 2 of 2 with a score of 4.25." in second.body
    assert 'the award "Silver" (other).' in second.body
    assert "Gold" not in second.body


names_text = st.text(min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(
    draft=st.sampled_from(DRAFTS),
    people=st.dictionaries(accounts | st.sampled_from(list(PEOPLE)), names_text, max_size=6),
    team=st.none() | names_text,
    hackathon=st.none() | names_text,
)
def test_any_names_render_verbatim_and_never_break_the_subject_line(
    draft: NotificationDraft,
    people: dict[str, str],
    team: str | None,
    hackathon: str | None,
) -> None:
    names = Names(
        people=people,
        teams={} if team is None else {TEAM: team, "team_b": team},
        hackathons={} if hackathon is None else {HACKATHON: hackathon},
    )
    rendered = render(draft.kind, draft.context, draft.account_id, names)
    # A name is data, never a template, and cannot inject a header line into an e-mail subject.
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
    assert rendered.body


def test_a_name_that_looks_like_a_template_is_shown_as_written() -> None:
    drafts = notifications_for(member_joined("acc_new"), {TEAM: ["acc_a"]})
    [to_a] = [d for d in drafts if d.account_id == "acc_a"]
    names = Names(people={"acc_new": "{{ 7 * 7 }} <b>"}, teams={TEAM: "{% if 1 %}x{% endif %}"})
    rendered = render(to_a.kind, to_a.context, "acc_a", names)
    assert rendered.subject == "{{ 7 * 7 }} <b> joined {% if 1 %}x{% endif %}"


# --------------------------------------------------------------------------------------------
# Wording when names are missing
# --------------------------------------------------------------------------------------------


def _texts(kind: str, context: dict[str, Any], recipient: str, names: Names) -> str:
    rendered = render(kind, context, recipient, names)
    return f"{rendered.subject}\n{rendered.body}"


TEAM_WORDED = [
    d for d in DRAFTS if d.kind not in ("welcome", "judge_enrolled", "submission_received")
]


@pytest.mark.parametrize("draft", TEAM_WORDED, ids=draft_id)
def test_an_unknown_team_name_reads_sensibly(draft: NotificationDraft) -> None:
    text = _texts(draft.kind, draft.context, draft.account_id, NO_NAMES).lower()
    assert UNKNOWN_TEAM in text
    assert "team your team" not in text and "team the team" not in text
    if draft.kind == "judge_assigned":
        assert "your team" not in text  # the judge is not on the team


def test_an_empty_display_name_renders_as_the_neutral_fallback() -> None:
    context = {"team_id": TEAM, "member_id": "acc_new"}
    names = Names(people={"acc_new": ""}, teams={TEAM: "Rockets"})
    assert render("team_member_joined", context, "acc_a", names).subject == (
        f"{UNNAMED_PERSON} joined Rockets"
    )
