"""Every message the templates and the code show has a translation in every language's
catalogue, with the same placeholders: a page never falls back to English in part."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from web import i18n

WEB_ROOT = Path(__file__).resolve().parents[1]
METHODS = [("web/**.py", "python"), ("web/templates/**.html", "jinja2.ext:babel_extract")]
KEYWORDS = {"_": None, "N_": None, "gettext": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def used_messages() -> set[str]:
    found = extract_from_dir(
        str(WEB_ROOT),
        method_map=METHODS,
        keywords=KEYWORDS,
        options_map={"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    )
    messages: set[str] = set()
    for _filename, _line, message, _comments, _context in found:
        messages.add(message if isinstance(message, str) else message[0])
    return messages


def test_the_templates_and_the_code_use_messages() -> None:
    used = used_messages()
    # The extraction itself finds both sources: a template's and the code's messages.
    assert "Skip to content" in used
    assert "This team is full." in used
    assert len(used) > 150


@pytest.mark.parametrize("locale", [code for code in i18n.LOCALES if code != i18n.DEFAULT_LOCALE])
def test_every_used_message_is_translated(locale: str) -> None:
    po = i18n.TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale)
    translated = {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and message.string and not message.fuzzy
    }
    missing = sorted(used_messages() - translated.keys())
    assert not missing, f"{locale}: {len(missing)} messages without a translation: {missing[:10]}"
    for source_text, target in translated.items():
        assert set(PLACEHOLDER.findall(source_text)) == set(PLACEHOLDER.findall(target)), (
            f"{locale}: placeholders differ in {source_text!r} -> {target!r}"
        )
        assert target != source_text or not re.search("[A-Za-z]{4}", source_text), (
            f"{locale}: left in English: {source_text!r}"
        )
