"""The rules for text a client sends, in one place (docs/input-rules.md).

Every string of the public API's request bodies passes one of four rules, as a pydantic
annotation (``Annotated[str, Line(max_length=100)]``):

- :class:`Line`, a name or a title: NFC-normalised, runs of white space collapsed to one
  space and trimmed; no control character (``\\n`` and ``\\t`` included), no bidirectional
  embedding, override or isolate; not blank once white space and invisible characters are
  set aside.
- :class:`Paragraphs`, prose (descriptions, summaries, comments): NFC-normalised, line breaks
  written as ``\\n``; no control character but ``\\n`` and ``\\t``; not blank when required.
- :class:`Verbatim`, what is compared exactly or is secret (e-mail addresses, ids, invite
  codes, secrets): kept as given, without control characters.
- :class:`WebAddress`, a URL: kept as given, without control characters, white space or
  bidirectional controls anywhere (a CR/LF in a URL is a header injected downstream).

Names are compared by :func:`comparison_key`: NFKC, case folding, invisible characters
removed, the Cyrillic and Greek letters drawn like Latin ones mapped to those
(:data:`LOOKALIKES`), white space collapsed. Two names with one key are one name."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema


class UnacceptableText(ValueError):
    """Text that breaks a rule; the message says which, in words a client can show."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


# --------------------------------------------------------------------------------------------
# Character classes
# --------------------------------------------------------------------------------------------

NEWLINE_AND_TAB = frozenset("\n\t")

BIDI_CONTROLS = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
)
"""LRE, RLE, PDF, LRO, RLO and the isolates LRI, RLI, FSI, PDI: they reorder how the text
after them is drawn ("Trojan Source"). Implicit marks (LRM, RLM, ALM) stay allowed."""

INVISIBLE_BEYOND_FORMAT = frozenset(
    [
        "\u034f",  # combining grapheme joiner
        "\u115f",  # Hangul choseong filler
        "\u1160",  # Hangul jungseong filler
        "\u17b4",  # Khmer vowel inherent aq
        "\u17b5",  # Khmer vowel inherent aa
        "\u2800",  # Braille pattern blank
        "\u3164",  # Hangul filler
        "\uffa0",  # half-width Hangul filler
        *(chr(c) for c in range(0x180B, 0x1810)),  # Mongolian variation selectors, FVS4
        *(chr(c) for c in range(0xFE00, 0xFE10)),  # variation selectors
        *(chr(c) for c in range(0xE0100, 0xE01F0)),  # variation selectors supplement
    ]
)
"""Characters that draw nothing although Unicode does not class them as format (Cf)."""


def is_control(char: str) -> bool:
    """C0 and C1 controls and DEL (Unicode category Cc), NUL included."""
    return unicodedata.category(char) == "Cc"


def is_invisible(char: str) -> bool:
    """Draws nothing: a format character (category Cf: zero-width space and joiners, soft
    hyphen, bidirectional controls, BOM, tags...) or one of :data:`INVISIBLE_BEYOND_FORMAT`."""
    return unicodedata.category(char) == "Cf" or char in INVISIBLE_BEYOND_FORMAT


def without_invisible(text: str) -> str:
    return "".join(char for char in text if not is_invisible(char))


def is_blank(text: str) -> bool:
    """Nothing to see: only white space and invisible characters (or nothing at all)."""
    return not without_invisible(text).strip()


def _code_point(char: str) -> str:
    return f"U+{ord(char):04X}"


def _refuse(text: str, forbidden: Callable[[str], bool], what: str) -> None:
    for char in text:
        if forbidden(char):
            raise UnacceptableText(
                "forbidden_character", f"must not contain {what} ({_code_point(char)})"
            )


# --------------------------------------------------------------------------------------------
# The rules as functions
# --------------------------------------------------------------------------------------------


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def clean_line(text: str, *, required: bool = True) -> str:
    """A name or title as stored: NFC, white space collapsed and trimmed. Refuses control
    characters, bidirectional controls and a blank result (when not ``required``, only the
    empty string may be blank)."""
    _refuse(text, is_control, "control characters")
    _refuse(text, BIDI_CONTROLS.__contains__, "bidirectional control characters")
    cleaned = " ".join(nfc(text).split())
    if is_blank(cleaned) and (required or text):
        raise UnacceptableText("blank", "must not be blank (invisible characters do not count)")
    return cleaned


def clean_paragraphs(text: str, *, required: bool = True) -> str:
    """Prose as stored: NFC, every line break as ``\\n``. Refuses control characters other
    than ``\\n`` and ``\\t``, and a blank text when ``required``."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    _refuse(text, lambda c: is_control(c) and c not in NEWLINE_AND_TAB, "control characters")
    if required and is_blank(text):
        raise UnacceptableText("blank", "must not be blank (invisible characters do not count)")
    return nfc(text)


def check_verbatim(text: str) -> str:
    _refuse(text, is_control, "control characters")
    return text


_HTTP_START = re.compile(r"[hH][tT][tT][pP][sS]?://[^/?#]")


def check_web_address(text: str, *, http_only: bool = False) -> str:
    """A URL as given. Refuses control characters, white space and bidirectional controls
    anywhere; with ``http_only``, anything but an http:// or https:// URL with a host."""
    _refuse(text, is_control, "control characters")
    _refuse(text, str.isspace, "white space")
    _refuse(text, BIDI_CONTROLS.__contains__, "bidirectional control characters")
    if http_only and not _HTTP_START.match(text):
        raise UnacceptableText("url_scheme", "must be an http:// or https:// URL with a host")
    return text


# --------------------------------------------------------------------------------------------
# Comparison of names
# --------------------------------------------------------------------------------------------

LOOKALIKES: dict[int, str] = str.maketrans(
    {
        # Cyrillic (lower case; the capitals fold onto these): a ve ie dze
        # byelorussian-ukrainian-i palochka je ka em en shha o er qa es te u straight-u we ha
        # komi-de.
        "\u0430": "a", "\u0432": "b", "\u0435": "e", "\u0455": "s", "\u0456": "i",
        "\u04cf": "i", "\u0458": "j", "\u043a": "k", "\u043c": "m", "\u043d": "h",
        "\u04bb": "h", "\u043e": "o", "\u0440": "p", "\u051b": "q", "\u0441": "c",
        "\u0442": "t", "\u0443": "y", "\u04af": "y", "\u051d": "w", "\u0445": "x",
        "\u0501": "d",
        # Greek (lower case): alpha beta epsilon zeta eta iota kappa mu nu omicron rho tau
        # upsilon chi omega lunate-sigma yot. Final sigma folds to sigma, which is not mapped.
        "\u03b1": "a", "\u03b2": "b", "\u03b5": "e", "\u03b6": "z", "\u03b7": "h",
        "\u03b9": "i", "\u03ba": "k", "\u03bc": "m", "\u03bd": "n", "\u03bf": "o",
        "\u03c1": "p", "\u03c4": "t", "\u03c5": "y", "\u03c7": "x", "\u03c9": "w",
        "\u03f2": "c", "\u03f3": "j",
    }
)  # fmt: skip
"""Case-folded Cyrillic and Greek look-alikes of Latin letters, mapped to those letters.

It covers the Cyrillic and Greek letters drawn like a Latin letter in common fonts in either
case: the capitals A B E K M H O P C T X (Cyrillic and Greek), Greek Z I N Y, and lower-case
ones such as Cyrillic a e o p c y x i j s h d q w and Greek o (omicron), a (alpha), w
(omega). It is a small explicit table, not the whole of Unicode's confusables list (UTS #39):
Latin-only look-alikes (``l`` and ``I``, ``rn`` and ``m``) and other scripts (Armenian,
Cherokee) are not mapped. Two names that differ only there are the same name; within a
script, the few letters that map alike (Cyrillic en and shha, u and straight u) make two
genuine names one, which costs their teams only another choice of name."""


def comparison_key(text: str) -> str:
    """The form two names are compared in: invisible characters removed, NFKC (full-width and
    styled letters become plain ones), case-folded, look-alikes mapped (:data:`LOOKALIKES`),
    white space collapsed and trimmed."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(without_invisible(folded.translate(LOOKALIKES)).split())


# --------------------------------------------------------------------------------------------
# JSON Schema patterns (what can be said in a pattern; the functions above decide)
# --------------------------------------------------------------------------------------------


def _ranges(chars: Iterable[str]) -> str:
    """A character class body for the Basic Multilingual Plane's ``chars``, in the escapes
    that ECMA-262, Python's re and Rust's regex read alike (characters beyond it are left to
    the validators)."""
    points = sorted({ord(c) for c in chars if ord(c) <= 0xFFFF})
    parts: list[str] = []
    start = previous = None
    for point in [*points, None]:
        if previous is not None and point == previous + 1:
            previous = point
            continue
        if start is not None and previous is not None:
            parts.append(f"\\u{start:04X}" + (f"-\\u{previous:04X}" if previous > start else ""))
        start = previous = point
    return "".join(parts)


@dataclass(frozen=True)
class Patterns:
    line: str
    optional_line: str
    paragraphs: str
    """A visible character somewhere; control characters other than CR, LF and tab are
    left to the validator (a pattern cannot both search and forbid without look-ahead)."""
    verbatim: str
    web_address: str
    http_address: str


@functools.cache
def patterns() -> Patterns:
    """The rules' JSON Schema patterns, for the OpenAPI document; worked out from the Unicode
    database on first use (it walks the whole BMP), not at every process's start."""
    bmp = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
    controls = [c for c in bmp if is_control(c)]
    spaces = [c for c in bmp if c.isspace()]
    invisible = [c for c in bmp if is_invisible(c)]
    line_forbidden = _ranges([*controls, *BIDI_CONTROLS])
    line_visible = _ranges([*controls, *BIDI_CONTROLS, *spaces, *invisible])
    url_forbidden = _ranges([*controls, *BIDI_CONTROLS, *spaces])
    line = f"[^{line_forbidden}]*[^{line_visible}][^{line_forbidden}]*"
    return Patterns(
        line=f"^{line}$",
        optional_line=f"^(?:{line})?$",
        paragraphs=f"[^{_ranges([*controls, *spaces, *invisible])}]",
        verbatim=f"^[^{_ranges(controls)}]*$",
        web_address=f"^[^{url_forbidden}]*$",
        http_address=f"^[hH][tT][tT][pP][sS]?://[^{url_forbidden}/?#]+[^{url_forbidden}]*$",
    )


# --------------------------------------------------------------------------------------------
# The rules as pydantic annotations
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TextRule:
    max_length: int
    min_length: int = 1

    def clean(self, text: str) -> str:
        raise NotImplementedError

    def pattern(self) -> str | None:
        return None

    def _validate(self, text: str) -> str:
        try:
            cleaned = self.clean(text)
        except UnacceptableText as refused:
            raise PydanticCustomError(refused.kind, refused.message) from None
        if len(cleaned) > self.max_length:
            raise PydanticCustomError(
                "too_long",
                "must be at most {max_length} characters once normalised",
                {"max_length": self.max_length},
            )
        if len(cleaned) < self.min_length:
            raise PydanticCustomError(
                "too_short",
                "must be at least {min_length} characters once normalised",
                {"min_length": self.min_length},
            )
        return cleaned

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        raw = core_schema.str_schema(min_length=self.min_length, max_length=self.max_length)
        return core_schema.no_info_after_validator_function(self._validate, raw)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        pattern = self.pattern()
        if pattern is not None:
            json_schema["pattern"] = pattern
        return json_schema


@dataclass(frozen=True)
class Line(_TextRule):
    """A name or a title (see :func:`clean_line`). ``min_length=0`` makes it optional: the
    empty string is accepted, and anything else must not be blank."""

    def clean(self, text: str) -> str:
        return clean_line(text, required=self.min_length > 0)

    def pattern(self) -> str:
        return patterns().line if self.min_length > 0 else patterns().optional_line


@dataclass(frozen=True)
class Paragraphs(_TextRule):
    """Prose (see :func:`clean_paragraphs`); ``min_length=0`` makes it optional."""

    min_length: int = 0

    def clean(self, text: str) -> str:
        return clean_paragraphs(text, required=self.min_length > 0)

    def pattern(self) -> str | None:
        return patterns().paragraphs if self.min_length > 0 else None


@dataclass(frozen=True)
class Verbatim(_TextRule):
    """Text compared exactly or kept secret: as given, without control characters."""

    def clean(self, text: str) -> str:
        return check_verbatim(text)

    def pattern(self) -> str:
        return patterns().verbatim


@dataclass(frozen=True)
class WebAddress(_TextRule):
    """A URL (see :func:`check_web_address`); ``http_only`` for links shown to people. Which
    hosts may receive webhooks stays the notifications service's rule."""

    http_only: bool = False

    def clean(self, text: str) -> str:
        return check_web_address(text, http_only=self.http_only)

    def pattern(self) -> str:
        return patterns().http_address if self.http_only else patterns().web_address
