"""The reader's language and the per-locale dates and numbers (web.i18n)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from web import i18n


@pytest.mark.parametrize(
    ("chosen", "header", "expected"),
    [
        (None, "ru-RU,ru;q=0.9,en;q=0.8", "ru"),
        (None, "ky-KG, ru;q=0.8", "ky"),
        (None, "de-DE,de;q=0.9,ru;q=0.5,en;q=0.4", "ru"),  # the best one the app has
        (None, "en;q=0.1, ru;q=0.9", "ru"),  # by quality, not by order
        (None, "ru;q=0, en", "en"),  # q=0 means "not this one"
        (None, "fr, de", "en"),
        (None, None, "en"),
        (None, "!!garbage;;q=x", "en"),
        ("ky", "ru-RU", "ky"),  # the switch wins over the browser
        ("xx", "ru-RU", "ru"),  # an unknown choice is ignored
    ],
)
def test_the_language_is_the_readers(chosen: str | None, header: str | None, expected: str) -> None:
    assert i18n.negotiate(chosen, header) == expected


def test_dates_are_in_the_readers_zone_and_locale() -> None:
    moment = datetime(2026, 12, 5, 12, 30, tzinfo=UTC)
    bishkek = i18n.Formats("ru", i18n.time_zone("Asia/Bishkek"))
    assert bishkek.when(moment) == "5 \u0434\u0435\u043a. 2026\u202f\u0433., 18:30"  # UTC+6
    english = i18n.Formats("en", None)
    assert english.when(moment.isoformat()) == "Dec 5, 2026, 12:30\u202fPM"
    assert english.zone_name() == "UTC"


def test_numbers_follow_the_locale() -> None:
    assert i18n.Formats("en", None).number(5000.5) == "5,000.5"
    assert i18n.Formats("ru", None).number(5000.5) == "5\xa0000,5"


@pytest.mark.parametrize("name", ["Not/AZone", "../../etc/passwd", "x" * 100, "", None])
def test_an_unknown_time_zone_is_ignored(name: str | None) -> None:
    assert i18n.time_zone(name) is None
