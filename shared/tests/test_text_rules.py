"""The text rules every request body follows (hackathon_shared.text, docs/input-rules.md)."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

import pytest
from pydantic import BaseModel, ValidationError
from pydantic_core import SchemaValidator, core_schema

from hackathon_shared.text import (
    LOOKALIKES,
    Line,
    Paragraphs,
    UnacceptableText,
    Verbatim,
    WebAddress,
    clean_line,
    clean_paragraphs,
    comparison_key,
    is_blank,
    patterns,
)

ZERO_WIDTH_SPACE = "\u200b"
RTL_OVERRIDE = "\u202e"
CYRILLIC_O = "\u041e"


def full_width(text: str) -> str:
    return "".join(c if c == " " else chr(ord(c) + 0xFEE0) for c in text)


def mathematical_bold(text: str) -> str:
    def bold(c: str) -> str:
        if c.isupper():
            return chr(0x1D400 + ord(c) - ord("A"))
        return chr(0x1D41A + ord(c) - ord("a")) if c.islower() else c

    return "".join(bold(c) for c in text)


# ---- the comparison key


@pytest.mark.parametrize(
    "spoof",
    [
        "Open Data Owls",
        "open data owls",
        "  OPEN   data\u00a0owls ",  # case, runs of white space, a no-break space
        f"Open Data Ow{ZERO_WIDTH_SPACE}ls",
        "Open Data Owls\u00ad",  # soft hyphen
        "Open Data Owls\ufeff",  # byte-order mark
        f"{CYRILLIC_O}pen Data Owls",
        "\u041e\u0440\u0435n D\u0430t\u0430 \u041ewls",  # Cyrillic O, er, ie, a
        "\u039fpen Data Owls",  # Greek capital omicron
        full_width("Open Data Owls"),
        mathematical_bold("Open Data Owls"),
        f"{RTL_OVERRIDE}Open Data Owls",
        "Open Data Owls\u200d",  # zero-width joiner
    ],
)
def test_names_that_look_alike_have_one_key(spoof: str) -> None:
    assert comparison_key(spoof) == comparison_key("Open Data Owls") == "open data owls"


def test_different_names_keep_different_keys() -> None:
    names = ["Open Data Owls", "Open Data Owl", "Open Data Owls 2", "\u00d6pen Data Owls"]
    names.append("\u03a9wls")  # Greek capital omega
    assert len({comparison_key(n) for n in names}) == len(names)
    # Composed and decomposed forms of one letter are one name, another letter is not.
    assert comparison_key("Caf\u00e9") == comparison_key("Cafe\u0301") != comparison_key("Cafe")
    assert comparison_key("STRASSE") == comparison_key("stra\u00dfe")


def test_the_lookalike_table_maps_only_cyrillic_and_greek_lower_case_to_ascii() -> None:
    for source, target in LOOKALIKES.items():
        char = chr(source)
        assert unicodedata.name(char).split()[0] in {"CYRILLIC", "GREEK"}, char
        assert char == char.casefold(), char  # keys are case-folded before mapping
        assert isinstance(target, str) and re.fullmatch("[a-z]", target), (char, target)
    # Every capital the table is meant for folds onto an entry.
    cyrillic = "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425"
    greek = "\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7"
    for capital in cyrillic + greek:
        assert ord(capital.casefold()) in LOOKALIKES, capital


# ---- lines: names and titles


def test_a_line_is_nfc_with_white_space_collapsed() -> None:
    assert clean_line("  Cafe\u0301\u3000 Owls  ") == "Caf\u00e9 Owls"
    # Shown as typed: only the comparison key folds the width.
    assert clean_line(full_width("Owls")) == full_width("Owls")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        ZERO_WIDTH_SPACE * 3,
        f" {ZERO_WIDTH_SPACE}\u3000\u2060\ufeff ",
        "\u2800",  # Braille blank
        "\u3164\u115f",  # Hangul fillers
    ],
)
def test_a_blank_line_is_refused(text: str) -> None:
    assert is_blank(text)
    with pytest.raises(UnacceptableText) as refused:
        clean_line(text)
    assert refused.value.kind == "blank"


@pytest.mark.parametrize(
    "text", ["Owls\x00", "Ow\nls", "Ow\tls", "Owls\r", "\x1b[31mOwls", "Owls\x7f", "Owls\x85"]
)
def test_a_line_refuses_control_characters_newlines_included(text: str) -> None:
    with pytest.raises(UnacceptableText) as refused:
        clean_line(text)
    assert refused.value.kind == "forbidden_character"
    assert "control" in refused.value.message


@pytest.mark.parametrize("control", ["\u202a", "\u202b", "\u202d", "\u202e", "\u2066", "\u2069"])
def test_a_line_refuses_bidirectional_overrides_and_isolates(control: str) -> None:
    with pytest.raises(UnacceptableText):
        clean_line(f"Owls{control}slwO")
    # The implicit marks a right-to-left name may need stay allowed.
    hebrew = "\u05d9\u05e0\u05e9\u05d5\u05e3\u200f 2"
    assert clean_line(hebrew) == hebrew


def test_an_optional_line_may_be_empty_but_not_blank() -> None:
    assert clean_line("", required=False) == ""
    for blank in ("  ", ZERO_WIDTH_SPACE):
        with pytest.raises(UnacceptableText):
            clean_line(blank, required=False)


# ---- paragraphs: prose


def test_paragraphs_keep_newlines_and_tabs_as_nfc_with_lf_only() -> None:
    text = "Cafe\u0301 plan:\r\n\t1. sensors\r2. map\n"
    assert clean_paragraphs(text) == "Caf\u00e9 plan:\n\t1. sensors\n2. map\n"


@pytest.mark.parametrize("text", ["a\x00b", "a\x0bb", "a\x0cb", "\x1b[2J", "a\x7f"])
def test_paragraphs_refuse_other_control_characters(text: str) -> None:
    with pytest.raises(UnacceptableText):
        clean_paragraphs(text)


def test_required_paragraphs_must_not_be_blank() -> None:
    with pytest.raises(UnacceptableText):
        clean_paragraphs(f"\n\t {ZERO_WIDTH_SPACE}\n")
    assert clean_paragraphs("", required=False) == ""


# ---- the rules as field types


class Sample(BaseModel):
    name: Annotated[str, Line(max_length=10)]
    title: Annotated[str, Line(min_length=3, max_length=20)]
    label: Annotated[str, Line(min_length=0, max_length=10)] = ""
    body: Annotated[str, Paragraphs(max_length=50)] = ""
    code: Annotated[str, Verbatim(max_length=20)] = "code"
    url: Annotated[str, WebAddress(max_length=100)] = "https://example.org/"
    link: Annotated[str, WebAddress(max_length=100, http_only=True)] = "https://example.org/"


def refusals(**fields: object) -> dict[str, str]:
    body = {"name": "Owls", "title": "A title", **fields}
    with pytest.raises(ValidationError) as refused:
        Sample.model_validate(body)
    return {".".join(map(str, e["loc"])): e["msg"] for e in refused.value.errors()}


def test_fields_are_normalised_as_they_are_validated() -> None:
    sample = Sample.model_validate(
        {"name": " Cafe\u0301 ", "title": "  A   title ", "body": "x\r\ny", "code": " As is "}
    )
    assert (sample.name, sample.title, sample.body, sample.code) == (
        "Caf\u00e9",
        "A title",
        "x\ny",
        " As is ",
    )


def test_fields_name_what_is_wrong() -> None:
    assert "blank" in refusals(name=ZERO_WIDTH_SPACE)["name"]
    assert "U+0000" in refusals(name="Ow\x00ls")["name"]
    assert "at least 3" in refusals(title="  ab   ")["title"]
    assert "at most 10" in refusals(name="x" * 11)["name"]
    assert "blank" in refusals(label=" \u2060 ")["label"]
    assert "U+0000" in refusals(code="a\x00")["code"]
    for url in ("https://example.org/\r\nX-Injected: 1", "https://exa mple.org/", "https://a/\t"):
        assert refusals(url=url).keys() == {"url"}, url
    for link in ("javascript:alert(1)", "ftp://example.org/", "https://", "//example.org"):
        assert "http" in refusals(link=link)["link"], link
    assert refusals(name=5).keys() == {"name"}  # a number is not a string


def test_the_schema_states_the_rules_it_can() -> None:
    schema = Sample.model_json_schema()["properties"]
    assert schema["name"]["maxLength"] == 10 and schema["name"]["minLength"] == 1
    assert schema["name"]["pattern"] == patterns().line
    assert schema["label"]["pattern"] == patterns().optional_line
    assert "pattern" not in schema["body"]
    assert schema["link"]["pattern"] == patterns().http_address


@pytest.mark.parametrize(
    ("pattern", "accepted", "refused"),
    [
        (
            "line",
            ["Owls", " Owls ", "\u03a9"],
            ["", " ", ZERO_WIDTH_SPACE, "a\x00", "a\n", RTL_OVERRIDE],
        ),
        ("optional_line", ["", "Owls"], [" ", ZERO_WIDTH_SPACE, "a\x00"]),
        ("verbatim", ["", " x "], ["a\x00", "\r"]),
        ("web_address", ["https://x.org/"], ["https://x.org/\r\n", "a b", "a\u202e"]),
        ("http_address", ["HTTP://x.org/a?b"], ["ftp://x.org", "https://", "https://x .org"]),
    ],
)
def test_the_patterns_agree_with_the_rules(
    pattern: str, accepted: list[str], refused: list[str]
) -> None:
    """Read by a regular-expression engine with JSON Schema's (ECMA-262) anchors, Rust's
    regex in pydantic-core: Python's ``$`` would also match before a final newline."""
    matches = SchemaValidator(core_schema.str_schema(pattern=getattr(patterns(), pattern)))
    for text in accepted:
        assert matches.isinstance_python(text), (pattern, text)
    for text in refused:
        assert not matches.isinstance_python(text), (pattern, text)
