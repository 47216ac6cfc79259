"""Version 1 of the event catalogue: one payload model and one envelope class per event type.

Every event class narrows the generic :class:`~hackathon_shared.events.envelope.Envelope`:
``type`` and ``version`` become constants (they select the class when decoding), ``producer``
is the one service allowed to publish the type, and ``payload`` is the type's own model.
Payload models (and the records nested in them) keep fields they do not know, so an optional
field added to a version later does not break older readers and re-encoding an event read from
the log reproduces its hash.

Aggregate ids (the envelope's ``aggregate_id``, which is also the Kafka message key, so all
events of one aggregate are ordered and hash-chained together): each class names the payload
field that holds it in its ``AGGREGATE_FIELD`` class variable; the generated
``docs/events/README.md`` lists it per type (its ``aggregate_id`` column).

Declaring an event type is all it takes to add it. A new type (or a new version of one) needs
only its payload model and its class, written in this module above the union section: a
subclass of its producer's base (``_RegistrationEvent``, ...) that sets ``TYPE``, ``VERSION``
and ``AGGREGATE_FIELD`` and narrows ``type``, ``version`` and ``payload``. Declaring the class
registers it (:class:`CatalogueEvent` does so for every subclass that sets its own ``TYPE``,
and checks the declaration), and everything else is built from the registry, in declaration
order: :data:`ALL_EVENT_CLASSES` (whose order is the order of ``docs/events/``),
:data:`EVENT_CLASSES`, the union :data:`AnyEvent` and its :data:`ANY_EVENT_ADAPTER`, the
one-pass decoder behind :func:`decode_event` and the class and payload names in ``__all__``.
The registry closes once the union is built: an event class declared later (in another module,
say) is refused with a :class:`TypeError` rather than silently missing from decoding. Then run
``python -m hackathon_shared.events.schemas`` to publish its JSON Schema.

Personal data (e-mail addresses, display names, passwords) never appears in an event payload:
events refer to people by account id only. Contact details travel as :class:`ContactDetails`
values on the compacted ``registration.contacts`` topic, keyed by account id, where erasure is
a tombstone (a null value).

Decoding from the wire goes through :func:`decode_event` (or :func:`decode_contact`), which turn
every kind of bad input into an :class:`EventDecodeError` with a short reason that names the
offending field, suitable for a dead-letter record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    ClassVar,
    Literal,
    TypeAlias,
    Union,
    get_args,
    overload,
)

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    FiniteFloat,
    PlainSerializer,
    StringConstraints,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from hackathon_shared.events.envelope import Envelope, Payload

# --------------------------------------------------------------------------------------------
# Shared field types
# --------------------------------------------------------------------------------------------


def _utc_text(value: datetime) -> str:
    # Same rule as the envelope's occurred_at: one text for one instant, whatever the offset.
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


Id = Annotated[str, StringConstraints(min_length=1, max_length=200)]
"""An opaque identifier (account, hackathon, team, submission, ...)."""

Timestamp = Annotated[AwareDatetime, PlainSerializer(_utc_text, return_type=str, when_used="json")]
"""A time-zone-aware instant, written as UTC (``...Z``) in JSON."""

NonEmptyText = Annotated[str, StringConstraints(min_length=1)]

HttpLink = Annotated[str, StringConstraints(pattern=r"^[hH][tT][tT][pP][sS]?://\S+$")]
"""An http(s) URL."""

Role = Literal["organizer", "participant"]
Phase = Literal["draft", "registration", "hacking", "judging", "finished"]
Sector = Literal["private", "academia", "civil_society", "government", "other"]
Normalization = Literal["none", "zscore"]
AwardKind = Literal["mentorship", "grant", "other"]
SubmissionKind = Literal["technology", "business", "social"]
Channel = Literal["in_app", "email", "webhook"]
Producer = Literal["registration", "submissions", "scoring", "notifications"]

PHASES: tuple[str, ...] = get_args(Phase)
"""The phases in their one order: a hackathon only moves forward along it."""


def phase_index(phase: str) -> int:
    """Where ``phase`` stands in :data:`PHASES`."""
    return PHASES.index(phase)


PERSONAL_DATA_FIELDS: frozenset[str] = frozenset(
    {"email", "display_name", "password", "password_hash", "full_name", "first_name", "last_name"}
)
"""Field names that must never appear in an event payload (they belong on the contacts topic
or in registration's own database)."""


class PayloadPart(BaseModel):
    """A record nested in a payload; like :class:`Payload`, immutable and keeping unknown
    fields so that re-encoding reproduces the original JSON."""

    model_config = ConfigDict(frozen=True, extra="allow")


class SeenFact(PayloadPart):
    """A fact of another service that a decision was taken on: that service's aggregate as of
    its event number ``sequence``. Sequences, not offsets: they stay the same when the log is
    rebuilt from the outboxes. A consumer applies an event only once it has applied every
    fact the event names (causal delivery), and the audit checks the decision against the
    state at those positions."""

    producer: Producer
    aggregate_id: Id
    sequence: int = Field(ge=1)


SeenFacts = list[SeenFact]


class CatalogueEvent(Envelope):
    """Base of every catalogue event class. ``AGGREGATE_FIELD`` names the payload field whose
    value is the event's ``aggregate_id``.

    A subclass that sets its own ``TYPE`` is an event type of the catalogue: declaring it
    registers it (see the module's docstring). Bases that leave ``TYPE`` alone, such as the
    producers' ``_RegistrationEvent``, are not registered."""

    AGGREGATE_FIELD: ClassVar[str] = ""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        # Called by pydantic once the subclass is complete (its fields are known), unlike
        # __init_subclass__, which runs before pydantic has read the annotations.
        super().__pydantic_init_subclass__(**kwargs)
        if "TYPE" in cls.__dict__:
            _REGISTRY.declare(cls)

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_an_integer(cls, value: Any) -> Any:
        # ``Literal[1]`` alone lets a JSON ``true`` or ``1.0`` through; the version is part of
        # the event's identity, so only an integer is one (decode_event says why, in words).
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("version must be an integer")
        return value

    @classmethod
    def aggregate_id_from(cls, payload: BaseModel) -> str:
        """The ``aggregate_id`` an event of this class carrying ``payload`` must have."""
        value = getattr(payload, cls.AGGREGATE_FIELD)
        return str(value)


def _payload_model(cls: type[CatalogueEvent]) -> type[BaseModel]:
    """The payload model an event class narrows ``payload`` to."""
    model = cls.model_fields["payload"].annotation
    if not isinstance(model, type) or not issubclass(model, Payload):
        raise TypeError(f"{cls.__name__}: 'payload' must be a Payload model, not {model!r}")
    return model


class _EventRegistry:
    """The catalogue's event classes in the order they are declared. Closed (no more
    declarations) once the union and the decoders are built from it."""

    def __init__(self) -> None:
        self._classes: dict[tuple[str, int], type[CatalogueEvent]] = {}
        self._closed = False

    def declare(self, cls: type[CatalogueEvent]) -> None:
        """Add ``cls`` after checking that its declaration holds together; a
        :class:`TypeError` (at import time) says what is wrong with it."""
        name = cls.__name__
        fields = cls.model_fields
        constants = (("type", cls.TYPE), ("version", cls.VERSION), ("producer", cls.PRODUCER))
        for field, constant in constants:
            if get_args(fields[field].annotation) != (constant,):
                raise TypeError(
                    f"{name}: '{field}' must be Literal[{constant!r}] (its {field.upper()}), "
                    f"not {fields[field].annotation!r}"
                )
        if cls.AGGREGATE_FIELD not in _payload_model(cls).model_fields:
            raise TypeError(
                f"{name}: AGGREGATE_FIELD {cls.AGGREGATE_FIELD!r} is not a field of its payload"
            )
        key = (cls.TYPE, cls.VERSION)
        if key in self._classes:
            raise TypeError(
                f"{name}: {cls.TYPE} version {cls.VERSION} is already declared by "
                f"{self._classes[key].__name__}"
            )
        if self._closed:
            raise TypeError(
                f"{name}: the event catalogue is already built; declare event classes in "
                f"{__name__}, above its union"
            )
        self._classes[key] = cls

    def close(self) -> tuple[type[CatalogueEvent], ...]:
        """Every declared class, in declaration order; no class may be declared after."""
        self._closed = True
        return tuple(self._classes.values())


_REGISTRY = _EventRegistry()


class _RegistrationEvent(CatalogueEvent):
    PRODUCER: ClassVar[str] = "registration"
    producer: Literal["registration"]


class _SubmissionsEvent(CatalogueEvent):
    PRODUCER: ClassVar[str] = "submissions"
    producer: Literal["submissions"]


class _ScoringEvent(CatalogueEvent):
    PRODUCER: ClassVar[str] = "scoring"
    producer: Literal["scoring"]


class _NotificationsEvent(CatalogueEvent):
    PRODUCER: ClassVar[str] = "notifications"
    producer: Literal["notifications"]


# --------------------------------------------------------------------------------------------
# registration
# --------------------------------------------------------------------------------------------


class AccountCreatedPayload(Payload):
    """An account exists. Contact data goes to ``registration.contacts``, never here."""

    account_id: Id
    roles: list[Role]


class AccountCreated(_RegistrationEvent):
    """An account was created (sign-up, or the organizer account made at start-up)."""

    TYPE: ClassVar[str] = "AccountCreated"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "account_id"
    type: Literal["AccountCreated"]
    version: Literal[1]
    payload: AccountCreatedPayload


class Challenge(PayloadPart):
    challenge_id: Id
    title: NonEmptyText
    description: str = ""


class RubricCriterion(PayloadPart):
    """One criterion of the rubric: a judge gives it a value in ``min..max``; ``weight`` is its
    share in the weighted mean."""

    key: NonEmptyText
    name: str = ""
    weight: FiniteFloat = Field(gt=0)
    min: FiniteFloat = 1.0
    max: FiniteFloat = 10.0


class Rubric(PayloadPart):
    criteria: list[RubricCriterion]
    normalization: Normalization = "none"


class AwardOffered(PayloadPart):
    """An award the hackathon offers to the team finishing at ``rank``."""

    name: NonEmptyText
    rank: int = Field(ge=1)
    kind: AwardKind
    amount: FiniteFloat | None = None


class HackathonCreatedPayload(Payload):
    hackathon_id: Id
    name: NonEmptyText
    description: str = ""
    challenges: list[Challenge]
    min_team_size: int = Field(ge=1)
    max_team_size: int = Field(ge=1)
    max_teams: int = Field(ge=1)
    submission_deadline: Timestamp
    rubric: Rubric
    judges_per_submission: int = Field(ge=1)
    awards: list[AwardOffered]
    created_by: Id


class HackathonCreated(_RegistrationEvent):
    """An organizer created a hackathon, in phase ``draft``."""

    TYPE: ClassVar[str] = "HackathonCreated"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "hackathon_id"
    type: Literal["HackathonCreated"]
    version: Literal[1]
    payload: HackathonCreatedPayload


class HackathonPhaseChangedPayload(Payload):
    hackathon_id: Id
    from_phase: Phase
    to_phase: Phase
    changed_by: Id


class HackathonPhaseChanged(_RegistrationEvent):
    """A hackathon moved one phase forward."""

    TYPE: ClassVar[str] = "HackathonPhaseChanged"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "hackathon_id"
    type: Literal["HackathonPhaseChanged"]
    version: Literal[1]
    payload: HackathonPhaseChangedPayload


class ParticipantRegisteredPayload(Payload):
    """An account registered for a hackathon, after consenting to policy ``consent_version``."""

    participant_id: Id
    account_id: Id
    hackathon_id: Id
    sector: Sector
    consent_version: NonEmptyText
    consented_at: Timestamp


class ParticipantRegistered(_RegistrationEvent):
    """An account registered as a participant of a hackathon."""

    TYPE: ClassVar[str] = "ParticipantRegistered"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "hackathon_id"
    type: Literal["ParticipantRegistered"]
    version: Literal[1]
    payload: ParticipantRegisteredPayload


class TeamRegisteredPayload(Payload):
    """A team was formed; ``members`` are account ids and include the captain."""

    team_id: Id
    hackathon_id: Id
    name: NonEmptyText
    challenge_id: Id
    captain_id: Id
    members: list[Id]


class TeamRegistered(_RegistrationEvent):
    """A team was formed for one of the hackathon's challenges."""

    TYPE: ClassVar[str] = "TeamRegistered"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "team_id"
    type: Literal["TeamRegistered"]
    version: Literal[1]
    payload: TeamRegisteredPayload


class TeamMemberJoinedPayload(Payload):
    team_id: Id
    hackathon_id: Id
    account_id: Id


class TeamMemberJoined(_RegistrationEvent):
    """A registered participant joined a team."""

    TYPE: ClassVar[str] = "TeamMemberJoined"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "team_id"
    type: Literal["TeamMemberJoined"]
    version: Literal[1]
    payload: TeamMemberJoinedPayload


class TeamMemberLeftPayload(Payload):
    """A member left; ``new_captain_id`` is set when the captain left and the role moved."""

    team_id: Id
    hackathon_id: Id
    account_id: Id
    new_captain_id: Id | None = None


class TeamMemberLeft(_RegistrationEvent):
    """A member left a team."""

    TYPE: ClassVar[str] = "TeamMemberLeft"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "team_id"
    type: Literal["TeamMemberLeft"]
    version: Literal[1]
    payload: TeamMemberLeftPayload


class TeamWithdrawnPayload(Payload):
    team_id: Id
    hackathon_id: Id
    reason: str


class TeamWithdrawn(_RegistrationEvent):
    """A team no longer takes part (for instance its last member left)."""

    TYPE: ClassVar[str] = "TeamWithdrawn"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "team_id"
    type: Literal["TeamWithdrawn"]
    version: Literal[1]
    payload: TeamWithdrawnPayload


class JudgeEnrolledPayload(Payload):
    """An account became a judge of a hackathon; ``conflicts`` are team ids it must not judge."""

    hackathon_id: Id
    judge_id: Id
    conflicts: list[Id]


class JudgeEnrolled(_RegistrationEvent):
    """An organizer enrolled an account as a judge of a hackathon."""

    TYPE: ClassVar[str] = "JudgeEnrolled"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "hackathon_id"
    type: Literal["JudgeEnrolled"]
    version: Literal[1]
    payload: JudgeEnrolledPayload


class JudgeConflictsChangedPayload(Payload):
    """An organizer replaced a judge's declared conflicts with ``conflicts`` (team ids), before
    judging began. Conflicts that follow from team membership are never declared: every
    consumer derives them from the team events."""

    hackathon_id: Id
    judge_id: Id
    conflicts: list[Id]
    changed_by: Id


class JudgeConflictsChanged(_RegistrationEvent):
    """A judge's declared conflicts changed."""

    TYPE: ClassVar[str] = "JudgeConflictsChanged"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "hackathon_id"
    type: Literal["JudgeConflictsChanged"]
    version: Literal[1]
    payload: JudgeConflictsChangedPayload


class AccountRolesChangedPayload(Payload):
    """An account's roles are now ``roles`` (for instance the organizer role granted at
    start-up from the configuration)."""

    account_id: Id
    roles: list[Role]
    changed_by: Id


class AccountRolesChanged(_RegistrationEvent):
    """An account's roles changed."""

    TYPE: ClassVar[str] = "AccountRolesChanged"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "account_id"
    type: Literal["AccountRolesChanged"]
    version: Literal[1]
    payload: AccountRolesChangedPayload


class AccountErasedPayload(Payload):
    account_id: Id


class AccountErased(_RegistrationEvent):
    """An account's personal data was erased; its ids stay in the log."""

    TYPE: ClassVar[str] = "AccountErased"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "account_id"
    type: Literal["AccountErased"]
    version: Literal[1]
    payload: AccountErasedPayload


# --------------------------------------------------------------------------------------------
# submissions
# --------------------------------------------------------------------------------------------


class SubmissionReceivedPayload(Payload):
    """Version ``version`` of a team's submission; it replaces the earlier versions."""

    submission_id: Id
    hackathon_id: Id
    team_id: Id
    challenge_id: Id
    version: int = Field(ge=1)
    title: NonEmptyText
    summary: NonEmptyText
    kind: SubmissionKind
    repo_url: HttpLink | None = None
    demo_url: HttpLink | None = None
    submitted_by: Id
    first_submitted_at: Timestamp
    members: list[Id] = Field(default_factory=list)
    """Superseded by ``seen``; kept so that events written with it still read. Earlier
    versions carried the team's members as the submissions service knew them, as of the
    team's event number ``team_sequence``."""
    team_sequence: int | None = Field(default=None, ge=1)
    seen: SeenFacts = Field(default_factory=list)
    """The hackathon and the team as the submissions service knew them when it accepted this
    version (registration's aggregates and their sequences)."""


class SubmissionReceived(_SubmissionsEvent):
    """A team submitted (a new version of) its proposal."""

    TYPE: ClassVar[str] = "SubmissionReceived"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "submission_id"
    type: Literal["SubmissionReceived"]
    version: Literal[1]
    payload: SubmissionReceivedPayload


class SubmissionWithdrawnPayload(Payload):
    submission_id: Id
    hackathon_id: Id
    team_id: Id
    reason: str
    seen: SeenFacts = Field(default_factory=list)
    """The team's withdrawal this follows from, when it does."""


class SubmissionWithdrawn(_SubmissionsEvent):
    """A submission no longer competes."""

    TYPE: ClassVar[str] = "SubmissionWithdrawn"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "submission_id"
    type: Literal["SubmissionWithdrawn"]
    version: Literal[1]
    payload: SubmissionWithdrawnPayload


# --------------------------------------------------------------------------------------------
# scoring
# --------------------------------------------------------------------------------------------


class JudgeAssignedPayload(Payload):
    hackathon_id: Id
    submission_id: Id
    team_id: Id
    judge_id: Id
    seen: SeenFacts = Field(default_factory=list)
    """The hackathon (in judging) and the submission the assignment was decided on."""


class JudgeAssigned(_ScoringEvent):
    """A judge was assigned to score a submission."""

    TYPE: ClassVar[str] = "JudgeAssigned"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "submission_id"
    type: Literal["JudgeAssigned"]
    version: Literal[1]
    payload: JudgeAssignedPayload


class ScoreSubmittedPayload(Payload):
    """A judge's values per criterion key and their weighted mean; ``revision`` counts this
    judge's scorings of this submission, the highest one being the judge's latest."""

    hackathon_id: Id
    submission_id: Id
    judge_id: Id
    scores: dict[str, FiniteFloat]
    total: FiniteFloat
    revision: int = Field(ge=1)
    comment: str | None = None
    seen: SeenFacts = Field(default_factory=list)
    """The hackathon (in judging) and the submission the score was accepted on."""


class ScoreSubmitted(_ScoringEvent):
    """An assigned judge scored a submission (again, if ``revision`` > 1)."""

    TYPE: ClassVar[str] = "ScoreSubmitted"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "submission_id"
    type: Literal["ScoreSubmitted"]
    version: Literal[1]
    payload: ScoreSubmittedPayload


PlacedBy = Literal["score", "earlier_first_submission", "smaller_submission_id"]
TieBreak = Literal["earlier_first_submission_then_smaller_submission_id"]


class RankingEntry(PayloadPart):
    """One line of the final ranking; ``judges`` is how many judges' totals made the score.

    ``rank`` is the place (one per entry; among tied entries the tie-break's), by which awards
    go. Added later, so absent (null) in events published before: ``raw_mean``, the mean of
    the judges' weighted totals before normalisation; ``score_rank``, the rank by score alone,
    shared by tied entries (1, 1, 3); ``tied_with``, how many other entries have exactly this
    score; ``placed_by``, what decided the place (docs/results.md)."""

    rank: int = Field(ge=1)
    submission_id: Id
    team_id: Id
    score: FiniteFloat
    judges: int = Field(ge=0)
    raw_mean: FiniteFloat | None = None
    score_rank: int | None = Field(default=None, ge=1)
    tied_with: int | None = Field(default=None, ge=0)
    placed_by: PlacedBy | None = None


class AwardGranted(PayloadPart):
    """An award as granted; ``team_id`` is null when no team reached its rank."""

    name: NonEmptyText
    kind: AwardKind
    amount: FiniteFloat | None = None
    rank: int = Field(ge=1)
    team_id: Id | None = None


class ResultsPublishedPayload(Payload):
    hackathon_id: Id
    entries: list[RankingEntry]
    awards: list[AwardGranted]
    published_by: Id
    seen: SeenFacts = Field(default_factory=list)
    """The hackathon, the ranked teams and their submissions the results were computed on."""
    normalization: Normalization | None = None
    """How the judges' totals were normalised (null in events published before it was
    stated: the hackathon's rubric says it)."""
    tie_break: TieBreak | None = None
    """The rule that placed tied entries (null in events published before it was stated; the
    rule was the same)."""


class ResultsPublished(_ScoringEvent):
    """The final ranking and the awards granted were published."""

    TYPE: ClassVar[str] = "ResultsPublished"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "hackathon_id"
    type: Literal["ResultsPublished"]
    version: Literal[1]
    payload: ResultsPublishedPayload


# --------------------------------------------------------------------------------------------
# notifications
# --------------------------------------------------------------------------------------------


class NotificationSentPayload(Payload):
    """A notification was delivered. ``recipient_account_id`` is null for webhooks;
    ``causing_event_id`` is the ``event_id`` of the event it reports on."""

    notification_id: Id
    channel: Channel
    recipient_account_id: Id | None = None
    causing_event_id: Id
    kind: NonEmptyText


class NotificationSent(_NotificationsEvent):
    """A notification was delivered on one channel."""

    TYPE: ClassVar[str] = "NotificationSent"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "notification_id"
    type: Literal["NotificationSent"]
    version: Literal[1]
    payload: NotificationSentPayload


class NotificationFailedPayload(Payload):
    """Delivery of a notification gave up; ``error`` says why (no personal data in it)."""

    notification_id: Id
    channel: Channel
    recipient_account_id: Id | None = None
    causing_event_id: Id
    kind: NonEmptyText
    error: str


class NotificationFailed(_NotificationsEvent):
    """A notification could not be delivered on one channel."""

    TYPE: ClassVar[str] = "NotificationFailed"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "notification_id"
    type: Literal["NotificationFailed"]
    version: Literal[1]
    payload: NotificationFailedPayload


# --------------------------------------------------------------------------------------------
# The union of all events and decoding
# --------------------------------------------------------------------------------------------


def event_tag(event_type: str, version: int) -> str:
    """The discriminator value of a (type, version) pair, e.g. ``"TeamRegistered@1"``."""
    return f"{event_type}@{version}"


def _tag_of(value: Any) -> str | None:
    if isinstance(value, Mapping):
        event_type, version = value.get("type"), value.get("version")
    else:
        event_type, version = getattr(value, "type", None), getattr(value, "version", None)
    if not isinstance(event_type, str) or isinstance(version, bool) or not isinstance(version, int):
        return None
    return event_tag(event_type, version)


ALL_EVENT_CLASSES: tuple[type[CatalogueEvent], ...] = _REGISTRY.close()
"""Every catalogue class, in the order declared above (the order of ``docs/events/``)."""

EVENT_CLASSES: dict[tuple[str, int], type[Envelope]] = {
    (cls.TYPE, cls.VERSION): cls for cls in ALL_EVENT_CLASSES
}
"""Every catalogue class by (type, version)."""

if TYPE_CHECKING:
    # A type checker cannot read a union built at run time; to it, any catalogue event is a
    # CatalogueEvent (narrow with isinstance).
    AnyEvent: TypeAlias = CatalogueEvent
else:
    AnyEvent = Annotated[
        Union[  # noqa: UP007 - built from a tuple, which the | syntax cannot take
            tuple(
                Annotated[cls, Tag(event_tag(cls.TYPE, cls.VERSION))] for cls in ALL_EVENT_CLASSES
            )
        ],
        Discriminator(
            _tag_of,
            custom_error_type="unknown_event",
            custom_error_message="unknown event type or version",
        ),
    ]
"""Any catalogue event, chosen by its ``type`` and ``version`` together: the union of
:data:`ALL_EVENT_CLASSES`, each tagged ``"<type>@<version>"``."""

ANY_EVENT_ADAPTER: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)

_KNOWN_VERSIONS: dict[str, list[int]] = {}
for _type, _version in sorted(EVENT_CLASSES):
    _KNOWN_VERSIONS.setdefault(_type, []).append(_version)


class EventDecodeError(ValueError):
    """Raised when bytes, text or a mapping is not a valid catalogue event (or contact record).

    ``reason`` is a one-line explanation meant for logs and dead-letter records; ``field`` is
    the dotted path of the offending field when one field is to blame."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json_object(data: bytes | bytearray | str | Mapping[str, Any], what: str) -> Any:
    if isinstance(data, Mapping):
        return data
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EventDecodeError(f"{what} is not UTF-8 (byte {exc.start})") from None
    elif isinstance(data, str):
        text = data
    else:
        raise EventDecodeError(
            f"{what} must be bytes, text or a mapping, not {type(data).__name__}"
        )
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise EventDecodeError(f"{what} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise EventDecodeError(f"{what} must be a JSON object, not {_json_kind(value)}")
    return value


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or "(root)"


def _from_validation_error(exc: ValidationError, what: str, skip: int = 0) -> EventDecodeError:
    errors = exc.errors(include_url=False, include_input=False)
    parts: list[str] = []
    for error in errors[:5]:
        parts.append(f"{_field_path(tuple(error['loc'][skip:]))}: {error['msg']}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    first_field = _field_path(tuple(errors[0]["loc"][skip:])) if errors else None
    return EventDecodeError(f"invalid {what}: " + "; ".join(parts) + more, first_field)


def _fast_event_adapter() -> TypeAdapter[Any]:
    """The events whose type has one version, chosen by ``type`` alone: pydantic-core reads
    the key straight from the JSON and validates while it parses, with no Python dict in
    between and no Python call to pick the class."""
    versions: dict[str, int] = {}
    for cls in ALL_EVENT_CLASSES:
        versions[cls.TYPE] = versions.get(cls.TYPE, 0) + 1
    single = tuple(cls for cls in ALL_EVENT_CLASSES if versions[cls.TYPE] == 1)
    union: Any = Annotated[Union[single], Field(discriminator="type")]  # noqa: UP007
    return TypeAdapter(union)


_FAST_EVENT_ADAPTER = _fast_event_adapter()


def _decode_fast(data: bytes | bytearray | str) -> Envelope | None:
    """The event, validated strictly while parsing, or None: then the careful path decides
    (and explains). Strict validation accepts a subset of what the careful path accepts,
    into the same models, so the outcome for valid input is the same and anything doubtful
    (a string where a number belongs, an unknown type, a second version, bad bytes) is left
    to the careful path."""
    # json.loads would take NaN and Infinity (so would pydantic-core); the contract does not.
    if isinstance(data, str):
        if "NaN" in data or "Infinity" in data:
            return None
    elif b"NaN" in data or b"Infinity" in data:
        return None
    try:
        event: Envelope = _FAST_EVENT_ADAPTER.validate_json(data, strict=True)
    except ValidationError:
        return None
    return event


def decode_event(data: bytes | bytearray | str | Mapping[str, Any]) -> Envelope:
    """Decode one event from its JSON (bytes or text) or an already parsed mapping.

    Returns an instance of the catalogue class for its (type, version). Raises
    :class:`EventDecodeError` when the input is not UTF-8, not JSON, not a JSON object, of an
    unknown type or version, or has an invalid or missing field (the message names it).

    JSON is first validated in one pass by pydantic-core (:func:`_decode_fast`); what that
    does not accept goes through :func:`json.loads`, the checks below and the union, which
    name the problem."""
    if isinstance(data, bytes | bytearray | str):
        fast = _decode_fast(data)
        if fast is not None:
            return fast
    obj = _parse_json_object(data, "event")
    event_type = obj.get("type")
    version = obj.get("version")
    if event_type is None:
        raise EventDecodeError("event has no 'type'", "type")
    if not isinstance(event_type, str):
        raise EventDecodeError(
            f"event 'type' must be a string, not {_json_kind(event_type)}", "type"
        )
    if version is None:
        raise EventDecodeError(f"{event_type} event has no 'version'", "version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise EventDecodeError(
            f"event 'version' must be an integer, not {_json_kind(version)}", "version"
        )
    known = _KNOWN_VERSIONS.get(event_type)
    if known is None:
        raise EventDecodeError(f"unknown event type {event_type!r}", "type")
    if version not in known:
        listed = ", ".join(str(v) for v in known)
        raise EventDecodeError(
            f"unknown version {version} of event type {event_type!r} (known: {listed})", "version"
        )
    try:
        event: Envelope = ANY_EVENT_ADAPTER.validate_python(obj)
    except ValidationError as exc:
        # The first element of each error location is the union tag, e.g. "TeamRegistered@1".
        raise _from_validation_error(exc, f"{event_type} v{version} event", skip=1) from None
    return event


# --------------------------------------------------------------------------------------------
# Contact details (registration.contacts)
# --------------------------------------------------------------------------------------------


class ContactDetails(BaseModel):
    """How to reach an account: the value on the compacted ``registration.contacts`` topic,
    whose message key is the account id. Not an event: no envelope, no hash chain; a null
    value (tombstone) means the account was erased."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    account_id: Id
    email: Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
    display_name: str
    updated_at: Timestamp

    def to_json(self) -> str:
        return json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )


@overload
def decode_contact(data: None) -> None: ...


@overload
def decode_contact(data: bytes | bytearray | str | Mapping[str, Any]) -> ContactDetails: ...


def decode_contact(
    data: bytes | bytearray | str | Mapping[str, Any] | None,
) -> ContactDetails | None:
    """Decode a ``registration.contacts`` value; ``None`` (a tombstone) decodes to ``None``.
    Raises :class:`EventDecodeError` for anything that is not a valid contact record."""
    if data is None:
        return None
    obj = _parse_json_object(data, "contact record")
    try:
        return ContactDetails.model_validate(obj)
    except ValidationError as exc:
        raise _from_validation_error(exc, "contact record") from None


__all__ = [
    "ALL_EVENT_CLASSES",
    "ANY_EVENT_ADAPTER",
    "EVENT_CLASSES",
    "PERSONAL_DATA_FIELDS",
    "PHASES",
    "AnyEvent",
    "AwardGranted",
    "AwardKind",
    "AwardOffered",
    "CatalogueEvent",
    "Challenge",
    "Channel",
    "ContactDetails",
    "EventDecodeError",
    "HttpLink",
    "Id",
    "Normalization",
    "PayloadPart",
    "Phase",
    "PlacedBy",
    "Producer",
    "RankingEntry",
    "Role",
    "Rubric",
    "RubricCriterion",
    "Sector",
    "SeenFact",
    "SeenFacts",
    "SubmissionKind",
    "TieBreak",
    "Timestamp",
    "decode_contact",
    "decode_event",
    "event_tag",
    "phase_index",
    # Every event class and its payload model, as declared above.
    *(name for cls in ALL_EVENT_CLASSES for name in (cls.__name__, _payload_model(cls).__name__)),
]
