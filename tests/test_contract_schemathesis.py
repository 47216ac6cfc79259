"""The gateway answers as its OpenAPI document says: schemathesis, with every check it has,
against the session's platform (the real services, broker and databases), reports nothing.

Bounded so that it stays a test of the suite: a fixed number of examples per operation, one
worker, deterministic generation (the same requests every run, no example database). Who
signs which request is tests/schemathesis_hooks.py's. Half the ids it puts in paths are of
things that exist (a hackathon in hacking with a team and its submission, one in judging
whose submission the organizer judges, a webhook to a receiver on loopback), so that answers
past the lookups are checked too.
The run's output is kept beside the test's files (``schemathesis-report.txt``).

One check is told what the document says in words: a request the schema allows may still be
a 422 on the routes whose table entry states rules the schema cannot (an opaque cursor, a
challenge of *this* hackathon, distinct award ranks...; gateway.openapi.beyond_schema_of,
listed in each route's 422 description). Everywhere else a schema-valid request must not be
refused as invalid."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from gateway.openapi import beyond_schema_of
from gateway.routes import PREFIX, ROUTES
from tests.journey_helpers import (
    Person,
    create_hackathon,
    enrol_judge,
    move_to,
    participant,
    register,
    submit,
    team_of,
)
from tests.platform_fixtures import ORGANIZER, Api
from tests.webhook_receiver import Receiver, webhook_receiver

HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
EXAMPLES_PER_OPERATION = 8
RUN_TIMEOUT = 240
# schemathesis's default for positive_data_acceptance, and 422.
ACCEPTED_OR_RULED_OUT = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]


async def _existing_things(api: Api, receiver: Receiver) -> tuple[dict[str, list[str]], Person]:
    """Ids of real things, by path parameter, and their one participant: a hackathon in
    hacking with the participant's team and its submission and a webhook to ``receiver``,
    and one in judging whose only submission (the participant's again) is assigned to the
    organizer, enrolled as its judge (so the organizer's scores get past the lookups)."""
    hacking = await create_hackathon(api, phase="hacking")
    judged = await create_hackathon(api, phase="hacking")
    ada = await participant(api, hacking, "Ada")
    await register(api, judged, ada)
    teams = [await team_of(api, hackathon, ada) for hackathon in (hacking, judged)]
    submissions = [await submit(api, team["team_id"], ada) for team in teams]
    organizer_auth = await api.organizer()
    me = await api.http.get("/me", headers=organizer_auth)
    assert me.status_code == 200, me.text
    organizer = Person(me.json()["account_id"], organizer_auth, ORGANIZER[0], "Organizer")
    await enrol_judge(api, judged, organizer)
    await move_to(api, judged, "judging")
    assigned = await api.http.post(
        f"/hackathons/{judged.hackathon_id}/assignments", headers=organizer_auth
    )
    assert assigned.status_code == 200, assigned.text
    webhook = await api.http.post(
        f"/hackathons/{hacking.hackathon_id}/webhooks",
        headers=organizer_auth,
        json={"url": receiver.url, "secret": "a secret of the contract run"},
    )
    assert webhook.status_code == 201, webhook.text
    things = {
        "hackathon_id": [hacking.hackathon_id, judged.hackathon_id],
        "team_id": [team["team_id"] for team in teams],
        "submission_id": [submission["submission_id"] for submission in submissions],
        "webhook_id": [webhook.json()["webhook_id"]],
    }
    return things, ada


def _config(path: Path, things: dict[str, list[str]]) -> Path:
    """schemathesis.toml: the real ids, and the operations whose schema-valid requests may
    meet a 422."""
    ruled = [f"{r.method} {PREFIX}{r.path}" for r in ROUTES if beyond_schema_of(r)]
    lines = []
    for name, ids in things.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(ids)}"]
    lines.append("[parameters]")
    lines += [f'"path.{name}" = {{ dictionary = "{name}", probability = 0.5 }}' for name in things]
    lines += [
        "[[operations]]",
        f"include-name = {json.dumps(ruled)}",
        "checks.positive_data_acceptance.expected-statuses = " + json.dumps(ACCEPTED_OR_RULED_OUT),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


async def _run_against(api: Api, tmp_path: Path, things: dict[str, list[str]], ada: Person) -> None:
    env = os.environ | {
        "SCHEMATHESIS_HOOKS": str(HOOKS),
        "CONTRACT_API_URL": api.platform.gateway_url + PREFIX,
        "CONTRACT_ORGANIZER_TOKEN": (await api.organizer())["Authorization"].split()[1],
        "CONTRACT_PARTICIPANT_TOKEN": ada.auth["Authorization"].split()[1],
    }
    command = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", str(_config(tmp_path / "schemathesis.toml", things)),
        "run", api.platform.gateway_url + "/openapi.json",
        "--checks", "all",
        "--max-examples", str(EXAMPLES_PER_OPERATION),
        "--generation-deterministic",
        "--workers", "1",
        "--suppress-health-check", "too_slow",  # the machine's speed, not the API's
        "--request-timeout", "20",
        "--no-color",
    ]  # fmt: skip
    run = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        cwd=tmp_path,  # where schemathesis keeps its cache (.schemathesis/)
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(run.communicate(), RUN_TIMEOUT)
    report = output.decode(errors="replace")
    (tmp_path / "schemathesis-report.txt").write_text(report)
    assert run.returncode == 0, report[-30000:]


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
async def test_the_gateway_answers_as_its_openapi_document_says(api: Api, tmp_path: Path) -> None:
    with webhook_receiver(fail_first_attempt=False) as receiver:
        await _run_against(api, tmp_path, *await _existing_things(api, receiver))
