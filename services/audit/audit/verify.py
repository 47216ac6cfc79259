"""Verification of the event log, without trusting any service or its database: the entry
point, :func:`verify`.

Input: the log records (from the broker or an export), in any order, fed one at a time to a
:class:`Verifier` (or all at once to :func:`verify`); the checks run in log order (topic,
partition, offset). Output: a :class:`Report` whose findings each name the record that
shows the problem. Where each group of checks is: ``schema`` as each record is read
(:mod:`audit.reading`); ``signature`` and ``chain`` in :mod:`audit.verifier`; ``reference``,
``rule`` and ``results`` in :mod:`audit.checks`, one module per group of rules. The groups:

``schema``
    Every record of an event topic is a valid catalogue event (JSON object, known type and
    version, every field valid), published on its producer's topic, keyed by its aggregate
    id, whose ``aggregate_id`` matches the payload, and without personal data in the payload.
``signature``
    With the producers' trusted public keys: every event is signed over its hash by a
    trusted key of the service whose topic it is on. One that is not is named, and left out
    of every other check, as the consumers never applied it.
``chain``
    Per aggregate (one topic's events with one ``aggregate_id``): every hash is SHA-256 over
    the canonical JSON of the event *as read from the log* (the raw JSON, parsed and
    canonicalised, not the decoded model re-serialised), sequences run 1, 2, 3... without
    gaps, repeats or reordering, each ``prev_hash`` is the hash of the previous sequence, an
    ``event_id`` is never seen twice, and one aggregate stays in one partition.
``reference``
    Entities referred to were announced: accounts, hackathons, teams, participants,
    submissions, judges, and the events named as ``causation_id`` or ``causing_event_id``.
``rule``
    Domain rules visible in the log: phases forward one step at a time, changed by an
    organizer; teams formed and changed in registration or hacking, within their size, one
    team per participant; a judge's declared conflicts changed by an organizer, before
    judging, for an enrolled judge; submissions in hacking, before the deadline, by a member
    of a team big enough, one per team (an older submission naming the team's members: those
    of the team event it names); judges assigned and scoring in judging only, never with a
    declared conflict nor for a team they are or were a member of, scores by assigned judges
    only, with values on the rubric's scales and the announced total equal to the weighted
    mean; results published once, in judging, by an organizer. A decision that names the
    positions it was taken on (``seen``) is replayed at them: the state of each named
    aggregate as of the named sequence must allow it (``decided-on-forbidden-state``), and
    each named position must be in the log (``seen-unknown-position``, a reference finding).
``results``
    The leaderboard and awards recomputed (:mod:`audit.ranking`) from the rubric, the
    submissions and the valid scores before publication, compared with what each
    ``ResultsPublished`` announced.

Events from different services are not ordered by the log; rules that relate them (a score
and the hackathon's phase, a submission and the team's members) compare ``occurred_at``, the
time each service recorded for its decision, and, for a decision that names its positions,
the state at those positions: per aggregate, the state after each of its events by sequence,
built once and looked up by bisection. See docs/audit.md for what that implies.

Streaming: each record is read once, as it arrives (:mod:`audit.reading`): what the record
shows by itself (its JSON, its hash over the canonical form, its schema, its envelope) is
decided then, and its value and decoded model are dropped; what is kept is an ``Item`` with
the small :mod:`audit.facts` fact the rules need. The checks that relate records
(duplicates, chains, references, rules, results) run in :mod:`audit.verifier` and
:mod:`audit.checks`, over the items, once every record is in; each aggregate's chain is
gathered as its records arrive.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Iterator

from audit.log import Record
from audit.progress import Progress
from audit.report import Report
from audit.verifier import CHECK_ORDER, Verifier
from hackathon_shared.signing import TrustedKeys

__all__ = ["CHECK_ORDER", "Report", "Verifier", "collection_paused", "verify"]


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a log is verified: what the verification
    keeps holds no cycles and lives until the report, and full collections, each walking
    every item kept so far, cost about a fifth of the time on a large log."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # What was made meanwhile goes to the oldest generation without being walked (the
        # next young collection would walk all of it, twice, as it ages).
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()


def verify(
    records: Iterable[Record],
    *,
    source: str = "log",
    hackathons: Iterable[str] | None = None,
    missing_topics: Iterable[str] = (),
    progress: Progress | None = None,
    keys: TrustedKeys | None = None,
) -> Report:
    """Run every check over ``records`` and return the report (``report.clean`` when nothing
    was found). ``hackathons`` limits the report to those hackathons' aggregates (and the
    accounts and notifications they refer to). The records are read one at a time and not
    kept: a generator streams the log through."""
    with collection_paused():
        verifier = Verifier(hackathons, progress, keys)
        verifier.feed_all(records)
        if progress is not None:
            progress.close()
        return verifier.result(source=source, missing_topics=missing_topics)
