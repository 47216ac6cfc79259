"""The results message says when a team is tied, by which rule it was placed, and, under
z-score normalisation, its raw mean; results published before ties were stated (and the
notifications stored from them) read as they always did."""

from __future__ import annotations

from hackathon_shared.events.catalogue import (
    AwardGranted,
    RankingEntry,
    ResultsPublished,
    ResultsPublishedPayload,
)
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope, seal
from notifications.domain.rules import notifications_for
from notifications.domain.templates import Names, Rendered, render

HACKATHON = "hk_ties"
NAMES = Names(
    teams={"team_a": "Owls", "team_b": "Bees", "team_c": "Ants", "team_d": "Elks"},
    hackathons={HACKATHON: "Civic Jam"},
)
TIE_RULE = (
    "places among tied teams go by the tie-break: the earlier first submission, then the "
    "smaller submission id."
)


def published(
    normalization: str, entries: list[RankingEntry], awards: list[AwardGranted]
) -> Envelope:
    return seal(
        ResultsPublished,
        payload=ResultsPublishedPayload(
            hackathon_id=HACKATHON,
            entries=entries,
            awards=awards,
            published_by="acc_org",
            normalization=normalization,
            tie_break="earlier_first_submission_then_smaller_submission_id",
        ),
        aggregate_id=HACKATHON,
        sequence=1,
        prev_hash=GENESIS_HASH,
    )


def entry(team: str, place: int, score_rank: int, tied_with: int, placed_by: str) -> RankingEntry:
    return RankingEntry(
        rank=place,
        submission_id=f"sub_{team}",
        team_id=team,
        score=0.0,
        judges=1,
        raw_mean=7.5,
        score_rank=score_rank,
        tied_with=tied_with,
        placed_by=placed_by,
    )


def messages(event: Envelope, members: dict[str, list[str]]) -> dict[str, Rendered]:
    return {
        d.account_id: render(d.kind, d.context, d.account_id, NAMES)
        for d in notifications_for(event, members)
    }


def test_every_team_of_a_tie_hears_it_and_how_the_tie_break_placed_it() -> None:
    event = published(
        "none",
        [
            entry("team_a", 1, 1, 2, "earlier_first_submission"),
            entry("team_b", 2, 1, 2, "smaller_submission_id"),
            entry("team_c", 3, 1, 2, "smaller_submission_id"),
            entry("team_d", 4, 4, 0, "score"),
        ],
        [AwardGranted(name="Seed grant", kind="grant", amount=5000, rank=1, team_id="team_a")],
    )
    told = messages(
        event, {"team_a": ["acc_a"], "team_b": ["acc_b"], "team_c": ["acc_c"], "team_d": ["acc_d"]}
    )
    winner = told["acc_a"]
    assert winner.subject == "Results of Civic Jam: your team ranked 1 of 4 (tied with 2 others)"
    assert winner.body == (
        "The results of Civic Jam are published. Your team Owls ranked 1 of 4 with a score of "
        "0.0. It is tied with 2 other teams on that score; " + TIE_RULE + " Yours was placed "
        'by the time of its first submission. It wins the award "Seed grant" (grant, 5000.0).'
    )
    second = told["acc_b"]
    assert second.subject == "Results of Civic Jam: your team ranked 2 of 4 (tied with 2 others)"
    assert TIE_RULE in second.body
    assert second.body.endswith(
        "Yours was placed by its submission id, as another tied team first submitted at the "
        "same moment."
    )
    alone = told["acc_d"]
    assert alone.subject == "Results of Civic Jam: your team ranked 4 of 4"
    assert alone.body == (
        "The results of Civic Jam are published. Your team Elks ranked 4 of 4 with a score of 0.0."
    )


def test_a_pair_reads_one_other_team_and_zscore_results_show_the_raw_mean() -> None:
    event = published(
        "zscore",
        [
            entry("team_a", 1, 1, 1, "earlier_first_submission"),
            entry("team_b", 2, 1, 1, "earlier_first_submission"),
        ],
        [],
    )
    told = messages(event, {"team_a": ["acc_a"], "team_b": ["acc_b"]})
    assert (
        told["acc_b"].subject == "Results of Civic Jam: your team ranked 2 of 2 (tied with 1 other)"
    )
    assert told["acc_b"].body == (
        "The results of Civic Jam are published. Your team Bees ranked 2 of 2 with a score of "
        "0.0 (normalised by z-score; the mean of its judges' totals before normalisation was "
        "7.5). It is tied with 1 other team on that score; " + TIE_RULE + " Yours was placed "
        "by the time of its first submission."
    )


def test_results_published_before_ties_were_stated_read_as_before() -> None:
    # An event of the first release (no tie fields) and a notification context stored from
    # one (no tie keys at all) render the message of that release.
    old = published("none", [], [])
    old = old.model_copy(
        update={
            "payload": ResultsPublishedPayload(
                hackathon_id=HACKATHON,
                entries=[
                    RankingEntry(rank=1, submission_id="s1", team_id="team_a", score=8.0, judges=2),
                    RankingEntry(rank=2, submission_id="s2", team_id="team_b", score=8.0, judges=2),
                ],
                awards=[],
                published_by="acc_org",
            )
        }
    )
    told = messages(old, {"team_a": ["acc_a"], "team_b": ["acc_b"]})
    assert told["acc_b"].subject == "Results of Civic Jam: your team ranked 2 of 2"
    assert told["acc_b"].body == (
        "The results of Civic Jam are published. Your team Bees ranked 2 of 2 with a score of 8.0."
    )
    stored = {"hackathon_id": HACKATHON, "team_id": "team_a", "rank": 1, "teams": 2}
    rendered = render("results_published", {**stored, "score": 8.0, "awards": []}, "acc_a", NAMES)
    assert rendered.body.endswith("Your team Owls ranked 1 of 2 with a score of 8.0.")
