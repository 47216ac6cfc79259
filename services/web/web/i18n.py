"""Languages: English, Russian and Kyrgyz, with gettext catalogues managed by Babel.

The catalogues are ``web/translations/<locale>/LC_MESSAGES/messages.po``, extracted from the
templates and the code with ``pybabel extract -F babel.cfg`` and kept up to date with
``pybabel update`` (docs/web.md). They are compiled in memory when the process starts, so no
compiled ``.mo`` file is kept in git. English is the source language: its catalogue is the
messages themselves.

The reader's language is the one they chose with the switch (the ``lang`` cookie), else the
best of ``Accept-Language`` that the app has, else English. Dates are shown in the reader's
time zone (the ``tz`` cookie, which the page's script sets from the browser; UTC, said so,
until then) and, like numbers, formatted by the locale's own rules (CLDR, through Babel)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from babel.dates import format_date, format_time, get_datetime_format, get_timezone_name
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALES = ("en", "ru", "ky")
DEFAULT_LOCALE = "en"
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "ky": "Кыргызча"}
"""Each language by its own name, as a switch shows it."""

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
_LANGUAGE_RANGE = re.compile(
    r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*"
)


@cache
def translations(locale: str) -> NullTranslations:
    """The catalogue of ``locale``, compiled from its ``.po`` file once per process."""
    if locale == DEFAULT_LOCALE:
        return NullTranslations()
    po = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def preferred_languages(header: str | None) -> list[str]:
    """The language ranges of an ``Accept-Language`` header, most preferred first; those
    with q=0 left out, malformed ones ignored."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")[:20]):
        matched = _LANGUAGE_RANGE.fullmatch(part)
        if matched is None:
            continue
        try:
            quality = float(matched[2]) if matched[2] is not None else 1.0
        except ValueError:
            continue
        if quality > 0:
            ranked.append((-quality, index, matched[1].lower()))
    return [language for _, _, language in sorted(ranked)]


def negotiate(chosen: str | None, accept_language: str | None) -> str:
    """The locale to answer in: the reader's own choice, else the best match."""
    if chosen in LOCALES:
        return chosen
    for language in preferred_languages(accept_language):
        primary = language.split("-", 1)[0]
        if primary in LOCALES:
            return primary
    return DEFAULT_LOCALE


def time_zone(name: str | None) -> ZoneInfo | None:
    """The reader's time zone by its IANA name, or None for anything else."""
    if not name or len(name) > 64 or name not in _zone_names():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


@dataclass(frozen=True)
class Formats:
    """Dates and numbers for one reader: their locale and their time zone (UTC if unknown)."""

    locale: str
    zone: ZoneInfo | None

    @property
    def babel_locale(self) -> Locale:
        return Locale.parse(self.locale)

    @property
    def zone_known(self) -> bool:
        return self.zone is not None

    def when(self, value: str | datetime | None) -> str:
        if value is None:
            return ""
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        zone = self.zone or ZoneInfo("UTC")
        local = moment.astimezone(zone)
        # The locale's own medium date and short time, joined as the locale joins them.
        pattern = str(get_datetime_format("medium", locale=self.babel_locale))
        date = format_date(local, "medium", locale=self.babel_locale)
        time = format_time(local, "short", locale=self.babel_locale)
        return pattern.replace("{1}", date).replace("{0}", time)

    def zone_name(self) -> str:
        if self.zone is None:
            return "UTC"
        return str(get_timezone_name(self.zone, locale=self.babel_locale))

    def number(self, value: Any) -> str:
        if value is None:
            return ""
        return str(format_decimal(value, locale=self.babel_locale))
