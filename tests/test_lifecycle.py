"""A whole hackathon, from the first sign-up to the published results, through the gateway
only (``api.http``: the public API v1 of ../shared/API.md), against the real processes the run
command starts (broker, services, gateway), on SQLite and on PostgreSQL.

An organizer creates a hackathon with three challenges, a weighted rubric of three criteria
(different weights and scales), two judges per submission and three awards; people sign up,
register with consent (private sector, academia, civil society), form four teams on different
challenges and join them by invite code (one member leaves again); teams submit and update;
three judges are enrolled with conflicts (one is the colleague of a team member); the
assignment respects the conflicts and reports the submission that cannot get two judges;
judges score; the organizer's leaderboard equals the one computed here from
docs/scoring.md (including a tie decided by the first submission); the results are published,
become public, finish the hackathon and grant the awards to the right teams; and every kind
of notification reached exactly the people docs/notifications.md names, with the right rank.

Along the way every kind of bad request API.md names is tried: the answer is the right
status with a problem document (and the rule's ``type`` where the docs name it), and a
re-read of the state shows that it changed nothing.

The platform answers as one program would (../shared/API.md, Conventions: Consistency): every
answer includes every write acknowledged before the request, whichever service made it. So
every step is one plain call right after its cause, asserting the exact answer: a submission
right after the move to hacking, a joiner's submission right after the join, a refusal right
after a leave or the move to judging, the whole assignment right after the move to judging,
the hackathon finished right after the results. Only notifications, which arrive by nature
in their own time, are waited for (``wait_until``, through the lifecycle helpers)."""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx

from tests.journey_helpers import (
    Auth,
    Json,
    Person,
    assert_problem,
    error_fields,
    every_item,
    get_submission,
    hackathon_view,
    leave,
    names,
    new_person,
    put_submission,
    submission_body,
    submit,
    team_view,
)
from tests.lifecycle_helpers import (
    expected_awards,
    expected_entries,
    feed,
    kinds_arrived,
    teams_snapshot,
    weighted_total,
)
from tests.platform_fixtures import PASSWORD, Api, unique_email

TIE_BREAK = "earlier_first_submission_then_smaller_submission_id"

CRITERIA: list[Json] = [
    {"key": "impact", "name": "Impact", "weight": 3, "min": 0, "max": 10},
    {"key": "feasibility", "name": "Feasibility", "weight": 2, "min": 1, "max": 5},
    {"key": "novelty", "name": "Novelty", "weight": 1},  # the default scale, 1..10
]
AWARDS: list[Json] = [
    {"name": "Grand prize", "rank": 1, "kind": "grant", "amount": 5000},
    {"name": "Mentorship programme", "rank": 2, "kind": "mentorship"},
    {"name": "Honourable mention", "rank": 5, "kind": "other", "amount": 100},  # 4 teams only
]

# The values each judge gives each team (impact, feasibility, novelty), for whichever judges
# the assignment picks. A: two judges who disagree; B: two judges whose totals (35/6, 29/6)
# average to C's 32/6 at full precision but not necessarily in floating point (the ranking
# compares 9 decimals, so B and C tie); C: every judge gives 32/6; D: a single judge.
VALUES: dict[str, dict[str, tuple[float, float, float]]] = {
    "A": {"Vic": (8, 5, 6), "Wes": (10, 3, 9)},
    "B": {"Uma": (7, 3, 8), "Wes": (5, 3, 8)},
    "C": {"Uma": (6, 3, 8), "Vic": (6, 3, 8), "Wes": (6, 3, 8)},
    "D": {"Wes": (7, 5, 10)},
}


def as_scores(values: tuple[float, float, float]) -> dict[str, float]:
    return dict(zip(("impact", "feasibility", "novelty"), values, strict=True))


def bearer(token: str) -> Auth:
    return {"Authorization": f"Bearer {token}"}


class Lifecycle:
    """The state one lifecycle builds up, and its stages in order."""

    def __init__(self, api: Api, organizer: Auth) -> None:
        self.api = api
        self.http: httpx.AsyncClient = api.http
        self.organizer = organizer
        self.people: dict[str, Person] = {}
        self.hid = ""
        self.hackathon: Json = {}
        self.challenges: list[str] = []
        self.teams: dict[str, Json] = {}  # by letter, as answered to a member (invite code)
        self.submissions: dict[str, Json] = {}  # by letter, the latest version
        self.submitted_order: list[str] = []  # submission ids, by first submission
        self.assignment: dict[str, list[str]] = {}  # submission id -> judge ids
        self.scores: dict[str, dict[str, dict[str, float]]] = {}  # submission -> judge -> values

    def __getitem__(self, name: str) -> Person:
        return self.people[name]

    def letter_of(self, submission_id: str) -> str:
        return next(k for k, s in self.submissions.items() if s["submission_id"] == submission_id)

    def judge_named(self, account_id: str) -> str:
        return next(n for n, p in self.people.items() if p.account_id == account_id)

    async def phase(self, phase: str, auth: Auth | None = None) -> httpx.Response:
        return await self.http.post(
            f"/hackathons/{self.hid}/phase",
            headers=self.organizer if auth is None else auth,
            json={"phase": phase},
        )

    async def move_to(self, phase: str) -> None:
        answer = await self.phase(phase)
        assert answer.status_code == 200, answer.text
        assert answer.json()["phase"] == phase
        assert (await hackathon_view(self.api, self.hid))["phase"] == phase

    # ----------------------------------------------------------------------------------------
    async def accounts(self) -> None:
        http = self.http
        ana = self.people["Ana"] = await new_person(self.api, "Ana")
        me = await http.get("/me", headers=ana.auth)
        assert me.status_code == 200, me.text
        assert me.json()["account_id"] == ana.account_id
        assert me.json()["email"] == ana.email.lower()
        assert me.json()["display_name"] == "Ana"
        assert "organizer" not in me.json()["roles"]
        organizer_me = await http.get("/me", headers=self.organizer)
        assert "organizer" in organizer_me.json()["roles"]

        # The same e-mail again (in another case): 409, and Ana's account is untouched.
        taken = await http.post(
            "/accounts",
            json={
                "email": ana.email.upper(),
                "password": "another password 2",
                "display_name": "X",
            },
        )
        assert_problem(taken, 409, "email-taken")
        assert (await http.get("/me", headers=ana.auth)).json() == me.json()
        wrong = await http.post(
            "/auth/token", json={"email": ana.email, "password": "another password 2"}
        )
        assert_problem(wrong, 401, "invalid-credentials")
        await self.api.sign_in(ana.email)

        # A password under 10 characters: 422 on password, and no account was made.
        lea_email = unique_email("Lea")
        short = await http.post(
            "/accounts", json={"email": lea_email, "password": "short9chr", "display_name": "Lea"}
        )
        assert any(names(f, "password") for f in error_fields(short)), short.text
        assert_problem(
            await http.post("/auth/token", json={"email": lea_email, "password": "short9chr"}),
            401,
            "invalid-credentials",
        )
        # A missing field of the sign-up is named too.
        missing = await http.post("/accounts", json={"email": unique_email(), "password": PASSWORD})
        assert any(names(f, "display_name") for f in error_fields(missing)), missing.text
        self.people["Lea"] = await new_person(self.api, "Lea", lea_email)  # the e-mail is free

        # Wrong credentials: 401, for a wrong password and for an unknown e-mail.
        assert_problem(
            await http.post("/auth/token", json={"email": ana.email, "password": PASSWORD + "x"}),
            401,
            "invalid-credentials",
        )
        assert_problem(
            await http.post("/auth/token", json={"email": unique_email(), "password": PASSWORD}),
            401,
            "invalid-credentials",
        )
        # Missing or invalid token: 401.
        assert_problem(await http.get("/me"), 401, "unauthenticated")
        assert_problem(await http.get("/me", headers=bearer("not-a-token")), 401, "unauthenticated")
        forged = ana.auth["Authorization"][:-4] + "AAAA"
        assert_problem(await http.get("/me", headers={"Authorization": forged}), 401)

        # A role cannot be chosen at sign-up (ignored or refused).
        email = unique_email("Sly")
        sly = await http.post(
            "/accounts",
            json={
                "email": email,
                "password": PASSWORD,
                "display_name": "Sly",
                "roles": ["organizer"],
            },
        )
        if sly.status_code == 201:
            sly_me = await http.get("/me", headers=await self.api.sign_in(email))
            assert "organizer" not in sly_me.json()["roles"], sly_me.json()
        else:
            assert_problem(sly, 422)

        for name in ("Ben", "Cat", "Dan", "Eva", "Fay", "Gus", "Ivy", "Jo", "Kai", "Max"):
            self.people[name] = await new_person(self.api, name)
        for name in ("Uma", "Vic", "Wes"):
            self.people[name] = await new_person(self.api, f"Judge {name}", unique_email(name))

    # ----------------------------------------------------------------------------------------
    def hackathon_body(self, name: str) -> Json:
        return {
            "name": name,
            "description": "Digital citizenship, end to end",
            "challenges": [
                {"title": "Trustworthy e-government", "description": "services people trust"},
                {"title": "Digital skills for citizens"},
                {"title": "Privacy and personal-data protection"},
            ],
            "min_team_size": 2,
            "max_team_size": 3,
            "max_teams": 4,
            "submission_deadline": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
            "rubric": {"criteria": CRITERIA, "normalization": "none"},
            "judges_per_submission": 2,
            "awards": AWARDS,
        }

    async def hackathon_names(self) -> list[str]:
        return [h["name"] for h in await every_item(self.api, "/hackathons")]

    async def create_hackathon(self) -> None:
        http = self.http
        name = f"Digital Citizenship Hackathon {secrets.token_hex(4)}"
        body = self.hackathon_body(name)
        # Only organizers create hackathons.
        assert_problem(await http.post("/hackathons", json=body), 401, "unauthenticated")
        assert_problem(
            await http.post("/hackathons", json=body, headers=self["Ana"].auth), 403, "forbidden"
        )
        # Invalid fields are all named.
        invalid = {
            **body,
            "challenges": [],
            "min_team_size": 4,
            "judges_per_submission": 0,
            "rubric": {"criteria": [{"key": "impact", "weight": 0}], "normalization": "none"},
        }
        fields = error_fields(await http.post("/hackathons", json=invalid, headers=self.organizer))
        for key in ("challenges", "judges_per_submission", "weight"):
            assert any(names(f, key) for f in fields), (key, fields)
        assert name not in await self.hackathon_names()

        created = await http.post("/hackathons", json=body, headers=self.organizer)
        assert created.status_code == 201, created.text
        hackathon = created.json()
        self.hid = hackathon["hackathon_id"]
        assert hackathon["phase"] == "draft"
        assert [c["title"] for c in hackathon["challenges"]] == [
            c["title"] for c in body["challenges"]
        ]
        self.challenges = [c["challenge_id"] for c in hackathon["challenges"]]
        assert len(set(self.challenges)) == 3
        criteria = hackathon["rubric"]["criteria"]
        assert [(c["key"], c["weight"], c["min"], c["max"]) for c in criteria] == [
            ("impact", 3, 0, 10),
            ("feasibility", 2, 1, 5),
            ("novelty", 1, 1, 10),
        ]
        assert hackathon["judges_per_submission"] == 2
        assert [(a["name"], a["rank"], a["kind"]) for a in hackathon["awards"]] == [
            (a["name"], a["rank"], a["kind"]) for a in AWARDS
        ]
        assert (await hackathon_view(self.api, self.hid)) == hackathon  # anyone reads it
        assert (await self.hackathon_names()).count(name) == 1
        self.hackathon = hackathon
        assert_problem(await http.get("/hackathons/hck_does_not_exist"), 404, "hackathon-not-found")

    # ----------------------------------------------------------------------------------------
    async def phases_before_registration(self) -> None:
        # Registration is refused in draft.
        early = await self.http.post(
            f"/hackathons/{self.hid}/registrations",
            headers=self["Ana"].auth,
            json={"sector": "private", "consent": True},
        )
        assert_problem(early, 409, "wrong-phase")
        # Only the next phase forward, only by an organizer.
        for skipped in ("hacking", "judging", "finished", "draft"):
            assert_problem(await self.phase(skipped), 409, "phase-transition")
        assert_problem(await self.phase("registration", self["Ana"].auth), 403, "forbidden")
        assert_problem(await self.phase("registration", {}), 401, "unauthenticated")
        assert any(names(f, "phase") for f in error_fields(await self.phase("party")))
        assert (await hackathon_view(self.api, self.hid)) == self.hackathon
        await self.move_to("registration")
        for backwards in ("draft", "registration", "judging", "finished"):
            assert_problem(await self.phase(backwards), 409, "phase-transition")
        assert (await hackathon_view(self.api, self.hid))["phase"] == "registration"

    # ----------------------------------------------------------------------------------------
    async def register(self, name: str, sector: str, consent: object = True) -> httpx.Response:
        return await self.http.post(
            f"/hackathons/{self.hid}/registrations",
            headers=self[name].auth,
            json={"sector": sector, "consent": consent},
        )

    async def registrations(self) -> None:
        for consent in (False, None):
            refused = await self.register("Ana", "private", consent)
            assert any(names(f, "consent") for f in error_fields(refused)), refused.text
        no_consent = await self.http.post(
            f"/hackathons/{self.hid}/registrations",
            headers=self["Ana"].auth,
            json={"sector": "private"},
        )
        assert any(names(f, "consent") for f in error_fields(no_consent)), no_consent.text
        bad_sector = await self.register("Ana", "pirates")
        assert any(names(f, "sector") for f in error_fields(bad_sector)), bad_sector.text
        assert_problem(
            await self.http.post(
                f"/hackathons/{self.hid}/registrations",
                json={"sector": "private", "consent": True},
            ),
            401,
            "unauthenticated",
        )
        sectors = {
            "Ana": "private",
            "Ben": "private",
            "Cat": "academia",
            "Dan": "academia",
            "Eva": "academia",
            "Fay": "civil_society",
            "Gus": "civil_society",
            "Ivy": "civil_society",
            "Jo": "private",
            "Kai": "civil_society",
            "Lea": "academia",
        }
        for name, sector in sectors.items():
            # The refusals above stored nothing: Ana's first accepted registration is this one.
            answer = await self.register(name, sector)
            assert answer.status_code == 201, answer.text
            assert answer.json()["participant_id"]
        assert_problem(await self.register("Ana", "private"), 409, "already-registered")
        assert_problem(await self.register("Ana", "academia"), 409, "already-registered")

    # ----------------------------------------------------------------------------------------
    async def create_team(self, name: str, team_name: str, challenge: int) -> httpx.Response:
        return await self.http.post(
            f"/hackathons/{self.hid}/teams",
            headers=self[name].auth,
            json={"name": team_name, "challenge_id": self.challenges[challenge]},
        )

    async def join(self, letter: str, name: str, code: str | None = None) -> httpx.Response:
        team = self.teams[letter]
        return await self.http.post(
            f"/teams/{team['team_id']}/members",
            headers=self[name].auth,
            json={"invite_code": team["invite_code"] if code is None else code},
        )

    async def joined(self, letter: str, name: str) -> None:
        answer = await self.join(letter, name)
        assert answer.status_code == 201, answer.text
        team = answer.json()
        assert self[name].account_id in [m["account_id"] for m in team["members"]]
        assert team["invite_code"] == self.teams[letter]["invite_code"]
        self.teams[letter] = team

    async def teams_form(self) -> None:
        http = self.http
        # Someone not registered cannot create a team.
        assert_problem(await self.create_team("Max", "Outsiders", 0), 403, "not-registered")
        assert await teams_snapshot(self.api, self.hid) == []

        created = await self.create_team("Ana", "Civic Sensors", 0)
        assert created.status_code == 201, created.text
        team_a = created.json()
        assert team_a["name"] == "Civic Sensors"
        assert team_a["challenge_id"] == self.challenges[0]
        assert team_a["captain_id"] == self["Ana"].account_id
        assert [m["account_id"] for m in team_a["members"]] == [self["Ana"].account_id]
        assert team_a["invite_code"]
        self.teams["A"] = team_a

        # A team whose last member leaves is withdrawn: it frees its name and its slot.
        stray = await self.create_team("Dan", "Stray Cats", 1)
        assert stray.status_code == 201, stray.text
        await leave(self.api, stray.json()["team_id"], self["Dan"])
        assert (await team_view(self.api, stray.json()["team_id"]))["status"] == "withdrawn"
        active = [t for t in await teams_snapshot(self.api, self.hid) if t["status"] == "active"]
        assert [t["name"] for t in active] == ["Civic Sensors"]
        rejoin = await http.post(
            f"/teams/{stray.json()['team_id']}/members",
            headers=self["Lea"].auth,
            json={"invite_code": stray.json()["invite_code"]},
        )
        assert_problem(rejoin, 409, "team-withdrawn")
        # A challenge of no such hackathon, someone in a team already, a name taken.
        before = await teams_snapshot(self.api, self.hid)
        bad_challenge = await http.post(
            f"/hackathons/{self.hid}/teams",
            headers=self["Dan"].auth,
            json={"name": "Lost", "challenge_id": "chl_not_here"},
        )
        assert any(names(f, "challenge_id") for f in error_fields(bad_challenge))
        assert_problem(await self.create_team("Ana", "Second team", 1), 409, "already-in-team")
        assert_problem(await self.create_team("Dan", "  civic SENSORS ", 1), 409, "team-name-taken")
        assert await teams_snapshot(self.api, self.hid) == before

        for letter, captain, team_name, challenge in (
            ("B", "Dan", "Learning Commons", 1),
            ("C", "Fay", "Data Guardians", 2),
            ("D", "Jo", "Open Counter", 0),
        ):
            answer = await self.create_team(captain, team_name, challenge)
            assert answer.status_code == 201, answer.text
            self.teams[letter] = answer.json()
        # max_teams is 4 (the withdrawn team freed its slot).
        assert_problem(await self.create_team("Lea", "Fifth", 1), 409, "hackathon-full")

        # Joining by invite code.
        before = await teams_snapshot(self.api, self.hid)
        wrong = await self.join("A", "Ben", "not-the-code")
        assert_problem(wrong, 403, "wrong-invite-code")
        other_teams_code = await self.join("A", "Ben", self.teams["B"]["invite_code"])
        assert_problem(other_teams_code, 403, "wrong-invite-code")
        assert_problem(await self.join("D", "Max"), 403, "not-registered")
        assert_problem(await self.join("D", "Ana"), 409, "already-in-team")
        no_token = await http.post(
            f"/teams/{self.teams['A']['team_id']}/members",
            json={"invite_code": self.teams["A"]["invite_code"]},
        )
        assert_problem(no_token, 401, "unauthenticated")
        assert await teams_snapshot(self.api, self.hid) == before

        await self.joined("A", "Ben")
        await self.joined("A", "Cat")
        await self.joined("B", "Eva")
        await self.joined("D", "Kai")
        before_full = await teams_snapshot(self.api, self.hid)
        assert_problem(await self.join("A", "Lea"), 409, "team-full")  # max_team_size 3
        assert await teams_snapshot(self.api, self.hid) == before_full

        # The invite code is for members only.
        a_id = self.teams["A"]["team_id"]
        as_member = await team_view(self.api, a_id, self["Cat"].auth)
        assert as_member["invite_code"] == self.teams["A"]["invite_code"]
        assert as_member["hackathon_id"] == self.hid
        assert as_member["status"] == "active"
        assert [m["display_name"] for m in as_member["members"]] == ["Ana", "Ben", "Cat"]
        for outsider in (None, self["Dan"].auth, self["Lea"].auth, self.organizer):
            seen = await team_view(self.api, a_id, outsider)
            assert "invite_code" not in seen or seen["invite_code"] is None, seen
            assert {k: v for k, v in seen.items() if k != "invite_code"} == {
                k: v for k, v in as_member.items() if k != "invite_code"
            }
        listed = await teams_snapshot(self.api, self.hid)
        for team in listed:
            assert team.get("invite_code") is None, team
        assert {t["name"] for t in listed if t["status"] == "active"} == {
            "Civic Sensors",
            "Learning Commons",
            "Data Guardians",
            "Open Counter",
        }
        assert_problem(await http.get("/teams/tea_does_not_exist"), 404)
        # Leaving a team one is not in.
        not_member = await http.delete(f"/teams/{a_id}/members/me", headers=self["Lea"].auth)
        assert_problem(not_member, 403, "not-a-member")
        assert (await team_view(self.api, a_id, self["Ana"].auth)) == as_member

    # ----------------------------------------------------------------------------------------
    async def submission_before_hacking(self) -> None:
        """In phase registration a submission is refused for the phase (team A, of three,
        is large enough), right after the team formed."""
        a_id = self.teams["A"]["team_id"]
        for name in ("Ana", "Cat"):  # the captain, and the last to join
            early = await put_submission(self.api, a_id, self[name].auth, submission_body())
            assert_problem(early, 409, "wrong-phase")
        assert_problem(await get_submission(self.api, a_id, self["Ana"].auth), 404)

    # ----------------------------------------------------------------------------------------
    async def enrol(
        self, email: str, conflicts: list[str], auth: Auth | None = None
    ) -> httpx.Response:
        return await self.http.post(
            f"/hackathons/{self.hid}/judges",
            headers=self.organizer if auth is None else auth,
            json={"email": email, "conflicts": conflicts},
        )

    async def judges(self) -> None:
        team = {letter: t["team_id"] for letter, t in self.teams.items()}
        assert_problem(await self.enrol(unique_email("nobody"), []), 404, "account-not-found")
        assert_problem(await self.enrol(self["Uma"].email, [], self["Ana"].auth), 403, "forbidden")
        assert_problem(await self.enrol(self["Uma"].email, [], {}), 401, "unauthenticated")
        unknown_team = await self.enrol(self["Uma"].email, [team["A"], "tea_not_here"])
        assert any(names(f, "conflicts") for f in error_fields(unknown_team))
        # Uma is Ana's colleague (team A); Uma and Vic both coach team D; Vic mentors team B.
        for name, conflicts in (
            ("Uma", [team["A"], team["D"]]),
            ("Vic", [team["B"], team["D"]]),
            ("Wes", []),
        ):
            answer = await self.enrol(self[name].email, conflicts)  # the refusals stored nothing
            assert answer.status_code == 201, answer.text
            assert answer.json()["judge_id"] == self[name].account_id
        assert_problem(await self.enrol(self["Wes"].email, []), 409, "already-enrolled")

    # ----------------------------------------------------------------------------------------
    async def hacking(self) -> None:
        http = self.http
        api = self.api
        ids = {letter: t["team_id"] for letter, t in self.teams.items()}
        await self.move_to("hacking")

        # Right after the move: team C has only its captain, below min_team_size.
        too_small = await put_submission(api, ids["C"], self["Fay"].auth, submission_body())
        assert_problem(too_small, 409, "team-too-small")
        assert_problem(await get_submission(api, ids["C"], self["Fay"].auth), 404)
        # Gus joins and leaves again; Ivy joins (teams change in hacking too).
        await self.joined("C", "Gus")
        await leave(api, ids["C"], self["Gus"])
        await self.joined("C", "Ivy")
        c_view = await team_view(api, ids["C"])
        assert [m["account_id"] for m in c_view["members"]] == [
            self["Fay"].account_id,
            self["Ivy"].account_id,
        ]
        assert c_view["captain_id"] == self["Fay"].account_id
        # Right after he left, Gus is refused, as a reader and as an author.
        assert_problem(await get_submission(api, ids["C"], self["Gus"].auth), 403, "forbidden")
        gus_version = await put_submission(api, ids["C"], self["Gus"].auth, submission_body())
        assert_problem(gus_version, 403, "not-a-member")

        # First submissions, in this order: C (by Ivy, who has just joined), A, D, B.
        plan = (
            ("C", "Ivy", "Consent receipts for citizens", "social"),
            ("A", "Ben", "Sensor data for e-government", "technology"),
            ("D", "Kai", "One-stop municipal counter", "business"),
            ("B", "Dan", "Digital skills in libraries", "social"),
        )
        for letter, author, title, kind in plan:
            body = submission_body(title=title, kind=kind)
            accepted = await submit(api, ids[letter], self[author], body)
            assert accepted["version"] == 1
            assert accepted["team_id"] == ids[letter]
            assert accepted["challenge_id"] == self.teams[letter]["challenge_id"]
            for field in ("title", "summary", "kind", "repo_url", "demo_url"):
                assert accepted[field] == body[field], field
            self.submissions[letter] = accepted
            self.submitted_order.append(accepted["submission_id"])

        # Team A updates: version 2 replaces version 1 (200), same submission.
        update = submission_body(
            title="Trusted sensor data for e-government", kind="technology", demo_url=...
        )
        second = await put_submission(api, ids["A"], self["Cat"].auth, update)
        assert second.status_code == 200, second.text
        assert second.json()["version"] == 2
        assert second.json()["submission_id"] == self.submissions["A"]["submission_id"]
        assert second.json()["demo_url"] is None
        self.submissions["A"] = second.json()

        # Refused writes change nothing.
        invalid = await put_submission(
            api,
            ids["A"],
            self["Ana"].auth,
            {"title": "ab", "summary": "", "kind": "poem", "repo_url": "ftp://example.org/x"},
        )
        fields = error_fields(invalid)
        for key in ("title", "summary", "kind", "repo_url"):
            assert any(names(f, key) for f in fields), (key, fields)
        missing = await put_submission(api, ids["A"], self["Ana"].auth, {"title": "Only a title"})
        assert any(names(f, "summary") for f in error_fields(missing))
        assert_problem(
            await put_submission(api, ids["A"], self["Dan"].auth, submission_body()),
            403,
            "not-a-member",
        )
        assert_problem(
            await put_submission(api, ids["C"], self["Gus"].auth, submission_body()),
            403,
            "not-a-member",
        )  # he left
        assert_problem(
            await put_submission(api, ids["A"], self["Wes"].auth, submission_body()),
            403,
            "not-a-member",
        )
        assert_problem(await put_submission(api, ids["A"], None, submission_body()), 401)
        latest = await get_submission(api, ids["A"], self["Ana"].auth)
        assert latest.status_code == 200, latest.text
        assert {k: latest.json()[k] for k in self.submissions["A"]} == self.submissions["A"]

        # Who may read a submission: members and organizers; not others, not judges yet.
        assert (await get_submission(api, ids["A"], self.organizer)).json()["version"] == 2
        for reader, letter in (
            ("Lea", "A"),
            ("Dan", "A"),
            ("Gus", "C"),
            ("Wes", "A"),
            ("Max", "D"),
        ):
            refused = await get_submission(api, ids[letter], self[reader].auth)
            assert refused.status_code == 403, (reader, refused.text)
            assert_problem(refused, 403)
        assert_problem(await get_submission(api, ids["A"], None), 401)

        # The organizer's list, by first submission; for organizers only; limit capped.
        path = f"/hackathons/{self.hid}/submissions"
        listed = await every_item(api, path, self.organizer, limit=3)
        assert [s["submission_id"] for s in listed] == self.submitted_order
        assert {s["team_id"]: s["version"] for s in listed}[ids["A"]] == 2
        assert_problem(await http.get(path, headers=self["Ana"].auth), 403, "forbidden")
        assert_problem(await http.get(path), 401)
        too_many = await http.get(path, headers=self.organizer, params={"limit": 201})
        assert any(names(f, "limit") for f in error_fields(too_many))

        hooks = f"/hackathons/{self.hid}/webhooks"
        hook = {"url": "https://example.org/hook", "secret": "a-long-enough-secret"}
        assert_problem(
            await http.post(hooks, json=hook, headers=self["Ana"].auth), 403, "forbidden"
        )
        assert_problem(await http.get(hooks, headers=self["Ana"].auth), 403, "forbidden")

        # Assignments are for organizers in judging only.
        assignments = f"/hackathons/{self.hid}/assignments"
        assert_problem(await http.post(assignments, headers=self.organizer), 409, "wrong-phase")
        assert_problem(await http.post(assignments, headers=self["Ana"].auth), 403, "forbidden")
        for judge in ("Uma", "Vic", "Wes"):
            mine = await http.get("/judging/assignments", headers=self[judge].auth)
            assert mine.status_code == 200, mine.text
            assert mine.json()["items"] == []

    # ----------------------------------------------------------------------------------------
    async def assign(self) -> Json:
        http = self.http
        await self.move_to("judging")
        path = f"/hackathons/{self.hid}/assignments"
        # Right after the move to judging: a submission is refused, and the assignment sees
        # every submission, all four in one run.
        late = await put_submission(
            self.api, self.teams["B"]["team_id"], self["Eva"].auth, submission_body()
        )
        assert_problem(late, 409, "wrong-phase")
        assigned = await http.post(path, headers=self.organizer)
        assert assigned.status_code == 200, assigned.text
        answer: Json = assigned.json()
        assert len(answer["assignments"]) == 4, answer
        conflicts = {
            "Uma": {self.teams["A"]["team_id"], self.teams["D"]["team_id"]},
            "Vic": {self.teams["B"]["team_id"], self.teams["D"]["team_id"]},
            "Wes": set(),
        }
        judge_ids = {self[n].account_id: n for n in conflicts}
        self.assignment = {a["submission_id"]: a["judge_ids"] for a in answer["assignments"]}
        assert set(self.assignment) == set(self.submitted_order)
        shortfalls: dict[str, Json] = {s["submission_id"]: s for s in answer["shortfalls"]}
        for submission_id, judges in self.assignment.items():
            team_id = self.submissions[self.letter_of(submission_id)]["team_id"]
            assert len(judges) == len(set(judges)), judges
            assert set(judges) <= set(judge_ids), judges
            for judge_id in judges:
                assert team_id not in conflicts[judge_ids[judge_id]], (submission_id, judge_id)
            eligible = [n for n, c in conflicts.items() if team_id not in c]
            assert len(judges) == min(2, len(eligible)), (submission_id, judges)
            if len(eligible) < 2:
                shortfall = shortfalls.pop(submission_id)
                assert (shortfall["assigned"], shortfall["needed"]) == (len(eligible), 2)
                assert shortfall["reason"], shortfall
        assert shortfalls == {}  # only D (eligible: Wes) lacks a judge
        d_id = self.submissions["D"]["submission_id"]
        assert self.assignment[d_id] == [self["Wes"].account_id]
        # Assigned in one run: A needs Vic and Wes, B Uma and Wes, D Wes, so C goes to Uma
        # and Vic; loads 2, 2, 3 (the best possible).
        loads = Counter(j for judges in self.assignment.values() for j in judges)
        assert sorted(loads.values()) == [2, 2, 3], loads
        # Running it again assigns nothing new.
        again = await http.post(path, headers=self.organizer)
        assert again.status_code == 200, again.text
        assert again.json() == answer
        return answer

    # ----------------------------------------------------------------------------------------
    async def judging(self) -> None:
        http = self.http
        api = self.api
        # Each judge sees exactly the submissions assigned to them, and may read them.
        for name in ("Uma", "Vic", "Wes"):
            judge = self[name]
            mine = await every_item(api, "/judging/assignments", judge.auth)
            expected = {s for s, js in self.assignment.items() if judge.account_id in js}
            assert {a["submission_id"] for a in mine} == expected
            for item in mine:
                letter = self.letter_of(item["submission_id"])
                assert item["team_id"] == self.submissions[letter]["team_id"]
                assert item["title"] == self.submissions[letter]["title"]
                assert item["hackathon_id"] == self.hid
                assert item["scored"] is False
                read = await get_submission(api, item["team_id"], judge.auth)
                assert read.status_code == 200, read.text
                assert read.json()["version"] == self.submissions[letter]["version"]
        too_many = await http.get(
            "/judging/assignments", headers=self["Wes"].auth, params={"limit": 201}
        )
        assert any(names(f, "limit") for f in error_fields(too_many))
        # Uma is not assigned team A's submission (her conflict): she may neither read nor
        # score it.
        a_sid = self.submissions["A"]["submission_id"]
        assert_problem(await get_submission(api, self.teams["A"]["team_id"], self["Uma"].auth), 403)
        valid = as_scores(VALUES["A"]["Wes"])
        unassigned = await self.score("Uma", a_sid, valid)
        assert_problem(unassigned, 403, "not-assigned")
        assert_problem(await self.score("Lea", a_sid, valid), 403)
        assert_problem(
            await http.put(f"/submissions/{a_sid}/scores/me", json={"scores": valid}), 401
        )

        # Invalid scores: every offending field named as scores.<key>.
        for bad, fields in (
            (
                {"impact": 11, "feasibility": 0, "novelty": 5},
                {"scores.impact", "scores.feasibility"},
            ),
            (
                {"impact": -1, "feasibility": 6, "novelty": 11},
                {
                    "scores.impact",
                    "scores.feasibility",
                    "scores.novelty",
                },
            ),
            ({"impact": 5, "feasibility": 3}, {"scores.novelty"}),
            ({**valid, "charisma": 7}, {"scores.charisma"}),
            ({"impact": 5, "feasibility": 3, "novelty": "high"}, {"scores.novelty"}),
        ):
            answer = await self.score("Wes", a_sid, bad)
            problem = assert_problem(answer, 422)
            assert {e["field"] for e in problem["errors"]} == fields, problem
        missing = await http.put(
            f"/submissions/{a_sid}/scores/me", headers=self["Wes"].auth, json={"comment": "hm"}
        )
        assert any(names(f, "scores") for f in error_fields(missing))
        mine = await every_item(api, "/judging/assignments", self["Wes"].auth)
        assert all(item["scored"] is False for item in mine)
        board = await http.get(f"/hackathons/{self.hid}/leaderboard", headers=self.organizer)
        assert board.status_code == 200, board.text
        assert board.json() == {
            "hackathon_id": self.hid,
            "published": False,
            "normalization": "none",
            "tie_break": TIE_BREAK,
            "entries": [],
        }

        unknown = await self.score("Wes", "sub_does_not_exist", valid)
        assert_problem(unknown, 404, "submission-not-found")

        # Every judge scores every submission assigned; Wes first scores A low, then revises.
        # A total, a revision or a judge sent along is refused, naming each, and stores nothing.
        low = {"impact": 2, "feasibility": 1, "novelty": 1}
        smuggled = await http.put(
            f"/submissions/{a_sid}/scores/me",
            headers=self["Wes"].auth,
            json={"scores": low, "total": 10, "revision": 7, "judge_id": self["Vic"].account_id},
        )
        problem = assert_problem(smuggled, 422)
        assert {e["field"] for e in problem["errors"]} == {"total", "revision", "judge_id"}
        forged = await http.put(
            f"/submissions/{a_sid}/scores/me", headers=self["Wes"].auth, json={"scores": low}
        )
        assert forged.status_code == 200, forged.text
        assert forged.json()["revision"] == 1
        assert forged.json()["judge_id"] == self["Wes"].account_id
        assert abs(forged.json()["total"] - weighted_total(CRITERIA, low)) < 1e-9
        for submission_id, judges in sorted(self.assignment.items()):
            letter = self.letter_of(submission_id)
            for judge_id in judges:
                name = self.judge_named(judge_id)
                values = as_scores(VALUES[letter][name])
                answer = await self.score(
                    name, submission_id, values, comment=f"{name} on {letter}"
                )
                assert answer.status_code == 200, answer.text
                scored = answer.json()
                assert scored["submission_id"] == submission_id
                assert scored["judge_id"] == judge_id
                assert scored["scores"] == values
                assert abs(scored["total"] - weighted_total(CRITERIA, values)) < 1e-9
                assert scored["revision"] == (2 if (letter, name) == ("A", "Wes") else 1)
                self.scores.setdefault(submission_id, {})[judge_id] = values
        for name in ("Uma", "Vic", "Wes"):
            mine = await every_item(api, "/judging/assignments", self[name].auth)
            assert mine and all(item["scored"] is True for item in mine), (name, mine)

    async def score(
        self, name: str, submission_id: str, values: Json, comment: str | None = None
    ) -> httpx.Response:
        body: Json = {"scores": values}
        if comment is not None:
            body["comment"] = comment
        return await self.http.put(
            f"/submissions/{submission_id}/scores/me", headers=self[name].auth, json=body
        )

    # ----------------------------------------------------------------------------------------
    def expected_board(self) -> list[Json]:
        details = {
            s["submission_id"]: {
                "team_id": s["team_id"],
                "team_name": self.teams[letter]["name"],
                "title": s["title"],
            }
            for letter, s in self.submissions.items()
        }
        return expected_entries(CRITERIA, self.scores, self.submitted_order, details)

    async def results(self) -> Json:
        http = self.http
        board_path = f"/hackathons/{self.hid}/leaderboard"
        results_path = f"/hackathons/{self.hid}/results"
        expected = self.expected_board()
        # The independent computation: A (85/12), D (41/6), then C and B tied at 32/6, C
        # first (submitted first).
        assert [self.letter_of(e["submission_id"]) for e in expected] == ["A", "D", "C", "B"]
        assert [e["score"] for e in expected] == [7.0833, 6.8333, 5.3333, 5.3333]
        assert [e["judges"] for e in expected] == [2, 1, 2, 2]
        assert [(e["score_rank"], e["tied_with"]) for e in expected] == [
            (1, 0),
            (2, 0),
            (3, 1),
            (3, 1),
        ]

        board = await http.get(board_path, headers=self.organizer)
        assert board.status_code == 200, board.text
        assert board.json() == {
            "hackathon_id": self.hid,
            "published": False,
            "normalization": "none",
            "tie_break": TIE_BREAK,
            "entries": expected,
        }

        # Not public yet; the results do not exist yet; only organizers publish.
        assert_problem(await http.get(board_path, headers=self["Ana"].auth), 403, "not-published")
        assert_problem(await http.get(board_path, headers=self["Wes"].auth), 403, "not-published")
        assert_problem(await http.get(board_path), 403, "not-published")
        assert_problem(await http.get(results_path), 404, "results-not-published")
        assert_problem(await http.post(results_path, headers=self["Ana"].auth), 403, "forbidden")
        assert_problem(await http.post(results_path, headers=self["Wes"].auth), 403, "forbidden")
        assert_problem(await http.post(results_path), 401, "unauthenticated")
        assert_problem(await http.get(results_path, headers=self.organizer), 404)
        assert (await hackathon_view(self.api, self.hid))["phase"] == "judging"
        assert (await http.get(board_path, headers=self.organizer)).json() == board.json()

        published = await http.post(results_path, headers=self.organizer)
        assert published.status_code == 201, published.text
        results: Json = published.json()
        assert results["hackathon_id"] == self.hid
        assert results["entries"] == expected
        assert results["awards"] == expected_awards(AWARDS, expected)
        assert [a["team_id"] for a in results["awards"]] == [
            self.teams["A"]["team_id"],
            self.teams["D"]["team_id"],
            None,
        ]
        assert_problem(
            await http.post(results_path, headers=self.organizer), 409, "results-published"
        )

        # Public now, without a token.
        public_results = await http.get(results_path)
        assert public_results.status_code == 200, public_results.text
        assert public_results.json() == results
        public_board = await http.get(board_path)
        assert public_board.status_code == 200, public_board.text
        assert public_board.json() == {
            "hackathon_id": self.hid,
            "published": True,
            "normalization": "none",
            "tie_break": TIE_BREAK,
            "entries": expected,
        }

        # Right after the results: the hackathon reads finished, and a version is refused.
        assert (await hackathon_view(self.api, self.hid))["phase"] == "finished"
        a_id = self.teams["A"]["team_id"]
        refused = await put_submission(self.api, a_id, self["Ana"].auth, submission_body())
        assert_problem(refused, 409, "wrong-phase")
        return results

    # ----------------------------------------------------------------------------------------
    async def after_the_end(self, results: Json) -> None:
        """Nothing moves once the results are published."""
        http = self.http
        api = self.api
        for phase in ("judging", "finished", "registration"):
            assert_problem(await self.phase(phase), 409, "phase-transition")
        assert_problem(
            await http.post(f"/hackathons/{self.hid}/assignments", headers=self.organizer), 409
        )
        assert_problem(await self.register("Max", "private"), 409, "wrong-phase")
        assert_problem(await self.create_team("Lea", "Latecomers", 0), 409)
        a_id = self.teams["A"]["team_id"]
        # Long after the results: still refused.
        late_version = await put_submission(api, a_id, self["Ana"].auth, submission_body())
        assert_problem(late_version, 409, "wrong-phase")
        after = await get_submission(api, a_id, self["Ana"].auth)
        assert {k: after.json()[k] for k in self.submissions["A"]} == self.submissions["A"]
        board = await http.get(f"/hackathons/{self.hid}/leaderboard")
        assert board.json()["entries"] == self.expected_board()
        # Scores are closed: the results are published (docs/scoring.md: 409 results-published).
        a_sid = self.submissions["A"]["submission_id"]
        late = await self.score("Wes", a_sid, as_scores(VALUES["A"]["Wes"]))
        assert_problem(late, 409, "results-published")
        assert (await http.get(f"/hackathons/{self.hid}/results")).json() == results

    # ----------------------------------------------------------------------------------------
    async def notifications(self, results: Json) -> None:
        """Every kind, to exactly the right people, as often as it happened."""
        rank_of = {e["team_id"]: e["rank"] for e in results["entries"]}
        score_of = {e["team_id"]: e["score"] for e in results["entries"]}
        award_of: dict[str, list[str]] = {}
        for award in results["awards"]:
            if award["team_id"]:
                award_of.setdefault(award["team_id"], []).append(award["name"])
        loads = Counter(j for judges in self.assignment.values() for j in judges)
        expected: dict[str, dict[str, int]] = {
            # A: Ana created it, Ben then Cat joined; two versions.
            "Ana": {"team_registered": 1, "team_member_joined": 2, "submission_received": 2},
            "Ben": {"team_member_joined": 2, "submission_received": 2},
            "Cat": {"team_member_joined": 1, "submission_received": 2},
            "Dan": {"team_registered": 1, "team_member_joined": 1, "submission_received": 1},
            "Eva": {"team_member_joined": 1, "submission_received": 1},
            # C: Gus joined and left before Ivy joined; then one version.
            "Fay": {
                "team_registered": 1,
                "team_member_joined": 2,
                "team_member_left": 1,
                "submission_received": 1,
            },
            "Gus": {"team_member_joined": 1, "team_member_left": 1},
            "Ivy": {"team_member_joined": 1, "submission_received": 1},
            "Jo": {"team_registered": 1, "team_member_joined": 1, "submission_received": 1},
            "Kai": {"team_member_joined": 1, "submission_received": 1},
            "Lea": {},
            "Max": {},
        }
        members = {
            "A": ("Ana", "Ben", "Cat"),
            "B": ("Dan", "Eva"),
            "C": ("Fay", "Ivy"),
            "D": ("Jo", "Kai"),
        }
        # Dan's first team ("Stray", withdrawn when he left it) counts too.
        expected["Dan"]["team_registered"] += 1
        expected["Dan"]["team_member_left"] = 1
        for names_ in members.values():
            for name in names_:
                expected[name]["results_published"] = 1
        for name in ("Uma", "Vic", "Wes"):
            expected[name] = {
                "judge_enrolled": 1,
                "judge_assigned": loads[self[name].account_id],
            }
        for name, kinds in expected.items():
            kinds["welcome"] = 1
            items = await kinds_arrived(self.api, self[name], kinds)
            times = [n["created_at"] for n in items]
            assert times == sorted(times, reverse=True), (name, times)

        # What they say.
        c_name = self.teams["C"]["name"]
        [fay_left] = [
            n for n in await feed(self.api, self["Fay"]) if n["kind"] == "team_member_left"
        ]
        assert fay_left["subject"] == f"Gus left {c_name}"
        [gus_left] = [
            n for n in await feed(self.api, self["Gus"]) if n["kind"] == "team_member_left"
        ]
        assert gus_left["subject"] == f"You left {c_name}"
        for letter, names_ in members.items():
            team_id = self.teams[letter]["team_id"]
            for name in names_:
                [told] = [
                    n for n in await feed(self.api, self[name]) if n["kind"] == "results_published"
                ]
                assert f"ranked {rank_of[team_id]} of 4" in told["subject"], (name, told)
                assert str(score_of[team_id]) in told["body"], (name, told)
                for award in AWARDS:
                    won = award["name"] in award_of.get(team_id, [])
                    assert (f'"{award["name"]}"' in told["body"]) is won, (name, told)
        for name in ("Uma", "Vic", "Wes"):
            assigned = [
                n for n in await feed(self.api, self[name]) if n["kind"] == "judge_assigned"
            ]
            for submission_id, judges in self.assignment.items():
                if self[name].account_id in judges:
                    team_name = self.teams[self.letter_of(submission_id)]["name"]
                    assert any(team_name in n["subject"] for n in assigned), (name, assigned)

        too_many = await self.http.get(
            "/notifications", headers=self["Ana"].auth, params={"limit": 201}
        )
        assert any(names(f, "limit") for f in error_fields(too_many))
        assert_problem(await self.http.get("/notifications"), 401, "unauthenticated")

    async def list_caps(self) -> None:
        for path in ("/hackathons", f"/hackathons/{self.hid}/teams"):
            too_many = await self.http.get(path, params={"limit": 201})
            assert any(names(f, "limit") for f in error_fields(too_many)), path
            assert_problem(await self.http.get(path, params={"limit": 0}), 422)
        bad_cursor = await self.http.get("/hackathons", params={"cursor": "not-a-cursor"})
        assert bad_cursor.status_code in (400, 422), bad_cursor.text
        assert_problem(bad_cursor, bad_cursor.status_code)

    async def strict_consent(self) -> None:
        """Consent is the JSON value true, nothing that merely converts to it. (Body
        validation comes before the phase rule, so a value taken for consent would answer
        409 wrong-phase here, the hackathon being finished.)"""
        for almost in ("yes", "true", 1):
            refused = await self.register("Max", "private", almost)
            assert any(names(f, "consent") for f in error_fields(refused)), (almost, refused.text)


async def test_a_whole_hackathon_through_the_gateway(api: Api) -> None:
    life = Lifecycle(api, await api.organizer())
    await life.accounts()
    await life.create_hackathon()
    await life.phases_before_registration()
    await life.registrations()
    await life.teams_form()
    await life.submission_before_hacking()
    await life.judges()
    await life.hacking()
    await life.assign()
    await life.judging()
    results = await life.results()
    await life.notifications(results)
    await life.list_caps()
    await life.strict_consent()
    await life.after_the_end(results)
