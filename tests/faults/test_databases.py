"""A service's database in trouble while the platform runs (issue 16): locked by another
writer (SQLite), read-only and unreachable (PostgreSQL). Writes answer ``503`` with
``Retry-After`` within the lock wait bound, having changed nothing; a client's retry with the
same ``Idempotency-Key`` once the trouble is over is carried out once; the relay publishes no
row twice, the consumers dead-letter nothing, and the platform recovers by itself.

Every check is made from outside: the API's answers and state, the feeds and e-mails, the
topics' records, the dead-letter topics and ``audit verify``."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest

from hackathon_cli.platform import Platform
from hackathon_shared.db import LOCK_WAIT_SECONDS
from hackathon_shared.topics import SUBMISSIONS_EVENTS
from tests.database_fixtures import create_postgres_database, postgres_url, require_postgres
from tests.faults.trouble_support import (
    Forwarder,
    assert_audit_clean,
    assert_every_event_once,
    assert_feeds_and_mails_exact,
    assert_no_dead_letters,
    copies_of_events,
    dead_letters,
    log_lines,
    postgres_port,
    problem_type,
    raw_records,
    set_read_only,
    sqlite_write_lock,
    start_platform,
    team_expectations,
    write_until_final,
)
from tests.journey_helpers import (
    Hackathon,
    Person,
    create_hackathon,
    join,
    new_person,
    participant,
    register,
    submission_body,
    submit,
    team_of,
)
from tests.mail_fixtures import SmtpServer
from tests.platform_fixtures import Api
from tests.polling import wait_until

pytestmark = pytest.mark.faults

LOCK_BOUND = LOCK_WAIT_SECONDS
# A write waits its process's turn (at most the bound), then the file's lock (at most the
# bound again): 10 s in all, inside the gateway's 15 s; 2 s more for the rest of the request.
ANSWER_WITHIN = 2 * LOCK_BOUND + 2.0  # below UPSTREAM_TIMEOUT_SECONDS (15 s)
# A write carried out: 200, or 202 when its event was not in the log within the bound
# (WRITE_ACK_TIMEOUT_SECONDS), e.g. while the relay still backs off after the outage.
ACCEPTED = (200, 202)


@pytest.fixture(scope="module")
def sqlite_platform(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer
) -> Iterator[Platform]:
    running = start_platform(tmp_path_factory.mktemp("db-sqlite"), kafka_bootstrap, smtp_server)
    try:
        yield running.platform
    finally:
        running.stop()


@pytest.fixture(scope="module")
def forwarder() -> Iterator[Forwarder]:
    forwarding = Forwarder(postgres_port())
    forwarding.start()
    try:
        yield forwarding
    finally:
        forwarding.close()


@pytest.fixture(scope="module")
def postgres_platform(
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
    smtp_server: SmtpServer,
    forwarder: Forwarder,
) -> Iterator[tuple[Platform, str]]:
    """The platform on PostgreSQL; submissions reaches its database through ``forwarder``.
    Yields the platform and the name of submissions' database."""
    require_postgres()
    submissions_db = create_postgres_database()
    through = postgres_url(submissions_db).replace(f":{postgres_port()}/", f":{forwarder.port}/", 1)
    assert f":{forwarder.port}/" in through, through
    running = start_platform(
        tmp_path_factory.mktemp("db-postgres"),
        kafka_bootstrap,
        smtp_server,
        postgresql=True,
        url_override={"submissions": through},
    )
    running.postgres["submissions-direct"] = submissions_db
    try:
        yield running.platform, submissions_db
    finally:
        running.stop()


async def _client(platform: Platform) -> AsyncIterator[Api]:
    api = Api(platform)
    try:
        yield api
    finally:
        await api.close()


@pytest.fixture
async def sqlite_api(sqlite_platform: Platform) -> AsyncIterator[Api]:
    async for api in _client(sqlite_platform):
        yield api


@pytest.fixture
async def postgres_api(postgres_platform: tuple[Platform, str]) -> AsyncIterator[Api]:
    async for api in _client(postgres_platform[0]):
        yield api


async def _team_in_hacking(api: Api) -> tuple[Hackathon, Person, Person, str]:
    """A hackathon in phase hacking with a team of two; its invite code is kept in
    ``INVITES`` for a later join."""
    hackathon = await create_hackathon(api, phase="hacking")
    captain = await participant(api, hackathon, "Captain")
    member = await participant(api, hackathon, "Member")
    team = await team_of(api, hackathon, captain, member)
    INVITES[team["team_id"]] = team["invite_code"]
    return hackathon, captain, member, team["team_id"]


INVITES: dict[str, str] = {}


async def _version(api: Api, team_id: str, person: Person) -> int:
    answer = await api.http.get(f"/teams/{team_id}/submission", headers=person.auth)
    assert answer.status_code == 200, answer.text
    version: int = answer.json()["version"]
    return version


async def _received_versions(platform: Platform, team_id: str) -> list[int]:
    """The versions of the team's ``SubmissionReceived`` on the topic, one per copy."""
    versions = []
    for record in await raw_records(platform, [SUBMISSIONS_EVENTS]):
        if b'"SubmissionReceived"' in (record.value or b"") and team_id.encode() in (
            record.value or b""
        ):
            versions.append(int(json.loads(record.value or b"{}")["payload"]["version"]))
    return sorted(versions)


async def _wait_received(platform: Platform, team_id: str, versions: list[int]) -> None:
    """Until the team's versions are on the topic (a 202's event comes in its own time),
    each once."""
    seen: list[list[int]] = []

    async def there() -> bool:
        seen.append(await _received_versions(platform, team_id))
        return seen[-1] == versions

    await wait_until(
        there, timeout=30, interval=0.5, message=lambda: f"versions on the topic: {seen[-1:]}"
    )


# --------------------------------------------------------------------------------------------
# (a) SQLite locked by another writer for longer than the gateway waits
# --------------------------------------------------------------------------------------------


async def test_a_locked_sqlite_database_answers_busy_and_a_retry_is_carried_out_once(
    sqlite_api: Api, smtp_server: SmtpServer
) -> None:
    api, platform = sqlite_api, sqlite_api.platform
    hackathon, captain, member, team_id = await _team_in_hacking(api)
    await submit(api, team_id, captain)
    path = f"/teams/{team_id}/submission"
    body = submission_body(title="Written while the file was locked")
    key = str(uuid.uuid4())
    headers = {**captain.auth, "Idempotency-Key": key}

    with sqlite_write_lock(platform.config.data_dir / "submissions.db"):
        held_from = time.monotonic()
        started = time.monotonic()
        refused = await api.http.put(path, headers=headers, json=body)
        took = time.monotonic() - started
        assert refused.status_code == 503, refused.text
        assert problem_type(refused) == "database-busy", refused.text
        assert refused.headers.get("retry-after") == "1", refused.headers
        assert took <= ANSWER_WITHIN, f"the busy answer took {took:.1f} s"
        # Held past the gateway's upstream timeout, as the 20 s lock was.
        while time.monotonic() - held_from < 12.0:
            assert (await api.http.get(path, headers=captain.auth)).json()["version"] == 1
            await asyncio.sleep(0.5)  # keeping the lock: the fault itself, not a wait
    # Nothing was committed while the file was locked.
    assert await _version(api, team_id, captain) == 1

    retried = await api.http.put(path, headers=headers, json=body)
    assert retried.status_code == 200, retried.text
    assert retried.json()["version"] == 2
    replayed = await api.http.put(path, headers=headers, json=body)
    assert replayed.status_code == 200, replayed.text
    assert replayed.headers.get("idempotent-replayed") == "true"
    assert replayed.json() == retried.json()
    assert await _version(api, team_id, captain) == 2

    assert await _received_versions(platform, team_id) == [1, 2]
    await assert_feeds_and_mails_exact(api, smtp_server, team_expectations(captain, member, 2))
    await assert_every_event_once(platform)
    await assert_no_dead_letters(platform)
    await assert_audit_clean(platform, [hackathon.hackathon_id])


async def test_writes_queued_behind_a_locked_sqlite_file_are_each_answered_busy_in_time(
    sqlite_api: Api, smtp_server: SmtpServer
) -> None:
    """Several writes at once to the locked file: each must be answered ``503`` within the
    bound, not queue behind the others' lock waits past the gateway's timeout (a ``504``
    whose write then commits is the issue's bug 2)."""
    api, platform = sqlite_api, sqlite_api.platform
    teams = [await _team_in_hacking(api) for _ in range(4)]
    for _hackathon, captain, _member, team_id in teams:
        await submit(api, team_id, captain)
    keys = [str(uuid.uuid4()) for _ in teams]
    bodies = [submission_body(title=f"Queued {i}") for i in range(len(teams))]

    async def put(index: int) -> tuple[int, str, float]:
        _h, captain, _m, team_id = teams[index]
        started = time.monotonic()
        answer = await api.http.put(
            f"/teams/{team_id}/submission",
            headers={**captain.auth, "Idempotency-Key": keys[index]},
            json=bodies[index],
            timeout=40,  # longer than the gateway's own upstream timeout (15 s)
        )
        return answer.status_code, problem_type(answer), time.monotonic() - started

    with sqlite_write_lock(platform.config.data_dir / "submissions.db"):
        answers = await asyncio.gather(*(put(i) for i in range(len(teams))))

    # Once the lock is gone each client sends its write again with its key. A write whose
    # first answer decided nothing (503) is carried out now, for the first time: its answer
    # is no replay. A replay (or a key still in use) shows that the first request went on
    # and committed after its client had been answered.
    retries = []
    for index, (_h, captain, _m, team_id) in enumerate(teams):
        retries.append(
            await write_until_final(
                api,
                "PUT",
                f"/teams/{team_id}/submission",
                captain.auth,
                bodies[index],
                key=keys[index],
            )
        )
    evidence = {
        "first answers (status, type, seconds)": answers,
        "retries": [(r.seen, r.final.headers.get("idempotent-replayed")) for r in retries],
        "submissions log": log_lines(platform, "submissions", "database busy")[-5:],
    }
    print(json.dumps(evidence, indent=1, default=str))
    assert all(status == 503 and kind == "database-busy" for status, kind, _ in answers), evidence
    assert all(took <= ANSWER_WITHIN for _, _, took in answers), evidence
    assert all(r.seen == ["200"] for r in retries), evidence
    assert all(r.final.headers.get("idempotent-replayed") is None for r in retries), evidence
    for retried, (_h, captain, _m, team_id) in zip(retries, teams, strict=True):
        assert retried.final.json()["version"] == 2
        assert await _version(api, team_id, captain) == 2
        assert await _received_versions(platform, team_id) == [1, 2]
    expected = [pair for h, c, m, _t in teams for pair in team_expectations(c, m, 2)]
    await assert_feeds_and_mails_exact(api, smtp_server, expected)
    await assert_every_event_once(platform)
    await assert_no_dead_letters(platform)
    await assert_audit_clean(platform, [h.hackathon_id for h, *_ in teams])


# --------------------------------------------------------------------------------------------
# (b) PostgreSQL read-only
# --------------------------------------------------------------------------------------------


async def test_a_read_only_postgresql_database_answers_unavailable_and_changes_nothing(
    postgres_api: Api, postgres_platform: tuple[Platform, str], smtp_server: SmtpServer
) -> None:
    api, (platform, submissions_db) = postgres_api, postgres_platform
    earlier = await dead_letters(platform)
    hackathon, captain, member, team_id = await _team_in_hacking(api)
    # Other teams write a burst while the database turns read-only: rows committed then are
    # published once, whatever the relay was doing when its connection was ended.
    others = [await _team_in_hacking(api) for _ in range(2)]
    await submit(api, team_id, captain)
    newcomer = await new_person(api, "Newcomer")
    await register(api, hackathon, newcomer)
    path = f"/teams/{team_id}/submission"
    body = submission_body(title="Written while read-only")
    key = str(uuid.uuid4())

    answers: list[int] = []

    async def burst() -> list[int]:
        for round_ in range(3):
            for _h, c, _m, t in others:
                done = await write_until_final(
                    api,
                    "PUT",
                    f"/teams/{t}/submission",
                    c.auth,
                    submission_body(title=f"Burst {round_}"),
                    timeout=40,
                )
                answers.append(done.final.status_code)
        return answers

    writing = asyncio.create_task(burst())
    # The fault strikes while the burst is under way.
    await wait_until(lambda: answers, timeout=20, message="the burst's first write")
    await set_read_only(submissions_db, True)
    try:
        refused = await api.http.put(
            path, headers={**captain.auth, "Idempotency-Key": key}, json=body
        )
        assert refused.status_code == 503, refused.text
        assert problem_type(refused) == "database-unavailable", refused.text
        assert refused.headers.get("retry-after") == "5", refused.headers
        # Registration still decides: someone joins the team meanwhile. Submissions must
        # apply it once its database writes again, not dead-letter it.
        await join(api, {"team_id": team_id, "invite_code": INVITES[team_id]}, newcomer)
        await asyncio.sleep(3.0)  # the outage lasts: the fault itself, not a wait
    finally:
        await set_read_only(submissions_db, False)

    # Reads pass the barrier again once the join is applied (503 catching-up meanwhile, by
    # design: submissions could not apply it), and show that nothing was written.
    current = await write_until_final(api, "GET", path, captain.auth, None)
    assert current.final.status_code == 200, (current.seen, current.final.text)
    assert current.final.json()["version"] == 1, current.final.text
    retried = await write_until_final(api, "PUT", path, captain.auth, body, key=key)
    assert retried.final.status_code in ACCEPTED, (retried.seen, retried.final.text)
    assert retried.final.json()["version"] == 2
    assert all(status in (200, 201, 202) for status in await writing)
    # The newcomer is a member for submissions too (the join was applied, not lost).
    by_newcomer = await write_until_final(
        api, "PUT", path, newcomer.auth, submission_body(title="By the newcomer")
    )
    assert by_newcomer.final.status_code in ACCEPTED, (by_newcomer.seen, by_newcomer.final.text)
    assert by_newcomer.final.json()["version"] == 3

    copies = await copies_of_events(platform, SUBMISSIONS_EVENTS)
    assert copies and max(copies.values()) == 1, {e: n for e, n in copies.items() if n > 1}
    await _wait_received(platform, team_id, [1, 2, 3])
    await assert_every_event_once(platform)
    expected = team_expectations(captain, member, 3)
    expected[0][1]["team_member_joined"] += 1
    expected[1][1]["team_member_joined"] += 1
    expected.append(
        (newcomer, Counter({"welcome": 1, "team_member_joined": 1, "submission_received": 2}))
    )
    await assert_feeds_and_mails_exact(api, smtp_server, expected)
    await assert_audit_clean(
        platform, [hackathon.hackathon_id, *(h.hackathon_id for h, *_ in others)]
    )

    # --------------------------------------------------------------------------------------------
    # (c) PostgreSQL unreachable
    # --------------------------------------------------------------------------------------------
    await assert_no_dead_letters(platform, earlier)


async def test_an_unreachable_postgresql_database_answers_unavailable_then_recovers_by_itself(
    postgres_api: Api,
    postgres_platform: tuple[Platform, str],
    forwarder: Forwarder,
    smtp_server: SmtpServer,
) -> None:
    api, (platform, _db) = postgres_api, postgres_platform
    earlier = await dead_letters(platform)
    hackathon, captain, member, team_id = await _team_in_hacking(api)
    await submit(api, team_id, captain)
    newcomer = await new_person(api, "Newcomer")
    await register(api, hackathon, newcomer)
    path = f"/teams/{team_id}/submission"
    body = submission_body(title="Written while unreachable")
    key = str(uuid.uuid4())

    forwarder.stop()
    try:
        assert forwarder.refuses()
        started = time.monotonic()
        refused = await api.http.put(
            path, headers={**captain.auth, "Idempotency-Key": key}, json=body
        )
        took = time.monotonic() - started
        assert refused.status_code == 503, refused.text
        assert problem_type(refused) == "database-unavailable", refused.text
        assert refused.headers.get("retry-after") == "5", refused.headers
        assert took <= ANSWER_WITHIN, f"the unavailable answer took {took:.1f} s"
        await join(api, {"team_id": team_id, "invite_code": INVITES[team_id]}, newcomer)
        await asyncio.sleep(3.0)  # the outage lasts: the fault itself, not a wait
    finally:
        forwarder.start()

    # Nothing to do by hand: the service reconnects by itself.
    retried = await write_until_final(api, "PUT", path, captain.auth, body, key=key)
    assert retried.final.status_code in ACCEPTED, (retried.seen, retried.final.text)
    assert retried.final.json()["version"] == 2
    by_newcomer = await write_until_final(
        api, "PUT", path, newcomer.auth, submission_body(title="By the newcomer")
    )
    assert by_newcomer.final.status_code in ACCEPTED, (by_newcomer.seen, by_newcomer.final.text)
    assert by_newcomer.final.json()["version"] == 3
    await _wait_received(platform, team_id, [1, 2, 3])
    await assert_every_event_once(platform)
    expected = team_expectations(captain, member, 3)
    expected[0][1]["team_member_joined"] += 1
    expected[1][1]["team_member_joined"] += 1
    expected.append(
        (newcomer, Counter({"welcome": 1, "team_member_joined": 1, "submission_received": 2}))
    )
    await assert_feeds_and_mails_exact(api, smtp_server, expected)
    await assert_audit_clean(platform, [hackathon.hackathon_id])
    await assert_no_dead_letters(platform, earlier)
