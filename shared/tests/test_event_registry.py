"""The event catalogue is built from its declarations: declaring an event class (with its
payload) puts it in ``ALL_EVENT_CLASSES``, ``EVENT_CLASSES``, the union, the one-pass decoder
and ``__all__``, and nothing else has to be written for it."""

from __future__ import annotations

import importlib.util
import inspect
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any, ClassVar, Literal, get_args

import pytest
from pydantic import Tag

from hackathon_shared.events import catalogue as cat
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope, Payload, seal

UNION_SECTION = "# The union of all events and decoding"


def _declared_event_classes(module: ModuleType) -> list[type[cat.CatalogueEvent]]:
    """The classes of ``module`` that declare an event type (set their own ``TYPE``), in the
    order the module defines them."""
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, module.CatalogueEvent)
        and value.__module__ == module.__name__
        and "TYPE" in value.__dict__
    ]


def test_every_declared_event_class_is_in_the_catalogue_in_declaration_order() -> None:
    declared = _declared_event_classes(cat)
    assert len(declared) == 19
    assert list(cat.ALL_EVENT_CLASSES) == declared
    assert list(cat.EVENT_CLASSES.values()) == declared


def test_the_union_has_one_tagged_member_per_class() -> None:
    union, _discriminator = get_args(cat.AnyEvent)
    members = [get_args(member) for member in get_args(union)]
    assert [(cls, tag.tag) for cls, tag in members] == [
        (cls, f"{cls.TYPE}@{cls.VERSION}") for cls in cat.ALL_EVENT_CLASSES
    ]
    assert all(isinstance(tag, Tag) for _cls, tag in members)


def test_every_event_class_and_its_payload_is_exported() -> None:
    exported = set(cat.__all__)
    assert len(exported) == len(cat.__all__), "a name is exported twice"
    for cls in cat.ALL_EVENT_CLASSES:
        payload = cls.model_fields["payload"].annotation
        assert isinstance(payload, type)
        assert {cls.__name__, payload.__name__} <= exported
    for name in cat.__all__:
        assert hasattr(cat, name), f"__all__ names {name}, which the module does not define"
    star: dict[str, Any] = {}
    exec("from hackathon_shared.events.catalogue import *", star)
    assert star["TeamWithdrawn"] is cat.TeamWithdrawn
    assert star["TeamWithdrawnPayload"] is cat.TeamWithdrawnPayload


# --------------------------------------------------------------------------------------------
# Declarations that do not hold together, or come too late
# --------------------------------------------------------------------------------------------


class _LatePayload(Payload):
    hackathon_id: str


def test_an_event_class_declared_after_the_catalogue_is_built_is_refused() -> None:
    before = (cat.ALL_EVENT_CLASSES, dict(cat.EVENT_CLASSES), list(cat.__all__))
    with pytest.raises(TypeError, match="the event catalogue is already built"):

        class LateEvent(cat._ScoringEvent):
            TYPE: ClassVar[str] = "LateEvent"
            VERSION: ClassVar[int] = 1
            AGGREGATE_FIELD: ClassVar[str] = "hackathon_id"
            type: Literal["LateEvent"]
            version: Literal[1]
            payload: _LatePayload

    assert (cat.ALL_EVENT_CLASSES, dict(cat.EVENT_CLASSES), list(cat.__all__)) == before
    with pytest.raises(cat.EventDecodeError, match="unknown event type 'LateEvent'"):
        cat.decode_event('{"type": "LateEvent", "version": 1}')


def test_a_base_class_that_sets_no_type_is_not_an_event() -> None:
    class _LateBase(cat._ScoringEvent):
        pass

    assert _LateBase not in cat.ALL_EVENT_CLASSES


def test_a_type_and_version_can_be_declared_only_once() -> None:
    with pytest.raises(TypeError, match="AccountErased version 1 is already declared by"):

        class AccountErasedAgain(cat._RegistrationEvent):
            TYPE: ClassVar[str] = "AccountErased"
            VERSION: ClassVar[int] = 1
            AGGREGATE_FIELD: ClassVar[str] = "account_id"
            type: Literal["AccountErased"]
            version: Literal[1]
            payload: cat.AccountErasedPayload


def test_the_fields_must_be_narrowed_to_the_class_constants() -> None:
    with pytest.raises(TypeError, match=r"'type' must be Literal\['Mistyped'\]"):

        class Mistyped(cat._ScoringEvent):
            TYPE: ClassVar[str] = "Mistyped"
            VERSION: ClassVar[int] = 1
            AGGREGATE_FIELD: ClassVar[str] = "hackathon_id"
            type: Literal["Mistiped"]
            version: Literal[1]
            payload: _LatePayload

    with pytest.raises(TypeError, match=r"'version' must be Literal\[2\]"):

        class WrongVersion(cat._ScoringEvent):
            TYPE: ClassVar[str] = "WrongVersion"
            VERSION: ClassVar[int] = 2
            AGGREGATE_FIELD: ClassVar[str] = "hackathon_id"
            type: Literal["WrongVersion"]
            version: Literal[1]
            payload: _LatePayload

    with pytest.raises(TypeError, match=r"'producer' must be Literal\['scoring'\]"):

        class WrongProducer(cat._ScoringEvent):
            TYPE: ClassVar[str] = "WrongProducer"
            VERSION: ClassVar[int] = 1
            AGGREGATE_FIELD: ClassVar[str] = "hackathon_id"
            type: Literal["WrongProducer"]
            version: Literal[1]
            producer: Literal["registration"]  # type: ignore[assignment]
            payload: _LatePayload


def test_the_aggregate_field_must_be_a_payload_field() -> None:
    with pytest.raises(TypeError, match="AGGREGATE_FIELD 'team_id' is not a field"):

        class NoSuchAggregate(cat._ScoringEvent):
            TYPE: ClassVar[str] = "NoSuchAggregate"
            VERSION: ClassVar[int] = 1
            AGGREGATE_FIELD: ClassVar[str] = "team_id"
            type: Literal["NoSuchAggregate"]
            version: Literal[1]
            payload: _LatePayload


# --------------------------------------------------------------------------------------------
# Adding an event type takes its class and its payload, nothing more
# --------------------------------------------------------------------------------------------

# Declared in a copy of the catalogue, above its union section, the way a new type is added:
# a new type, and a second version of an existing one.
NEW_DECLARATIONS = """
class VenueBookedPayload(Payload):
    hackathon_id: Id
    venue: NonEmptyText


class VenueBooked(_RegistrationEvent):
    TYPE: ClassVar[str] = "VenueBooked"
    VERSION: ClassVar[int] = 1
    AGGREGATE_FIELD: ClassVar[str] = "hackathon_id"
    type: Literal["VenueBooked"]
    version: Literal[1]
    payload: VenueBookedPayload


class TeamWithdrawnV2Payload(Payload):
    team_id: Id
    hackathon_id: Id
    reason: NonEmptyText
    withdrawn_by: Id


class TeamWithdrawnV2(_RegistrationEvent):
    TYPE: ClassVar[str] = "TeamWithdrawn"
    VERSION: ClassVar[int] = 2
    AGGREGATE_FIELD: ClassVar[str] = "team_id"
    type: Literal["TeamWithdrawn"]
    version: Literal[2]
    payload: TeamWithdrawnV2Payload


"""


@pytest.fixture(scope="module")
def extended(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The catalogue with ``NEW_DECLARATIONS`` added, loaded as a module of its own."""
    source = Path(inspect.getfile(cat)).read_text(encoding="utf-8")
    marker = source.index(UNION_SECTION)
    # Declarations go before the section's rule line, right above the section title.
    insert_at = source.rindex("\n# ---", 0, marker) + 1
    path = tmp_path_factory.mktemp("catalogue") / "extended_catalogue.py"
    path.write_text(source[:insert_at] + NEW_DECLARATIONS + source[insert_at:], encoding="utf-8")
    spec = importlib.util.spec_from_file_location("extended_catalogue", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the annotations through it
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def _sealed(module: ModuleType, cls_name: str, **payload: Any) -> Envelope:
    cls = getattr(module, cls_name)
    body = cls.model_fields["payload"].annotation(**payload)
    return seal(
        cls,
        payload=body,
        aggregate_id=cls.aggregate_id_from(body),
        sequence=1,
        prev_hash=GENESIS_HASH,
    )


def test_a_declared_class_joins_every_list_in_declaration_order(extended: ModuleType) -> None:
    names = [cls.__name__ for cls in extended.ALL_EVENT_CLASSES]
    assert names == [cls.__name__ for cls in cat.ALL_EVENT_CLASSES] + [
        "VenueBooked",
        "TeamWithdrawnV2",
    ]
    assert extended.EVENT_CLASSES[("VenueBooked", 1)] is extended.VenueBooked
    assert extended.EVENT_CLASSES[("TeamWithdrawn", 2)] is extended.TeamWithdrawnV2
    assert extended._KNOWN_VERSIONS["TeamWithdrawn"] == [1, 2]
    union, _discriminator = get_args(extended.AnyEvent)
    assert Annotated[extended.VenueBooked, Tag("VenueBooked@1")] in get_args(union)
    assert {"VenueBooked", "VenueBookedPayload", "TeamWithdrawnV2", "TeamWithdrawnV2Payload"} <= (
        set(extended.__all__)
    )


def test_a_declared_class_is_decoded_on_both_paths(extended: ModuleType) -> None:
    event = _sealed(extended, "VenueBooked", hackathon_id="hk-1", venue="Town hall")
    text = event.to_json()
    # One version only: the one-pass decoder takes it ...
    fast = extended._decode_fast(text.encode("utf-8"))
    assert type(fast) is extended.VenueBooked
    assert fast == event
    # ... and the careful path, given a mapping, reaches the same event.
    careful = extended.decode_event(json.loads(text))
    assert type(careful) is extended.VenueBooked
    assert careful == event
    assert careful.computed_hash() == event.hash

    bad = json.loads(text)
    bad["payload"]["venue"] = ""
    with pytest.raises(extended.EventDecodeError) as info:
        extended.decode_event(json.dumps(bad))
    assert info.value.field == "payload.venue"
    assert str(info.value).startswith("invalid VenueBooked v1 event: payload.venue:")


def test_a_second_version_is_chosen_by_type_and_version(extended: ModuleType) -> None:
    v2 = _sealed(
        extended,
        "TeamWithdrawnV2",
        team_id="team-1",
        hackathon_id="hk-1",
        reason="last member left",
        withdrawn_by="acc-1",
    )
    v1 = _sealed(extended, "TeamWithdrawn", team_id="team-1", hackathon_id="hk-1", reason="")
    # Two versions of one type: the one-pass decoder leaves them to the careful path, which
    # picks the class of each (type, version).
    assert extended._decode_fast(v2.to_json()) is None
    assert type(extended.decode_event(v2.to_json())) is extended.TeamWithdrawnV2
    assert type(extended.decode_event(v1.to_json())) is extended.TeamWithdrawn
    three = json.loads(v2.to_json())
    three["version"] = 3
    with pytest.raises(extended.EventDecodeError, match=r"unknown version 3 .*\(known: 1, 2\)"):
        extended.decode_event(three)
