"""Reading a posted form: a field as bounded text, the form's Idempotency-Key, and the
refusal of a form whose CSRF token did not match (web.page checks it)."""

from __future__ import annotations

from starlette.datastructures import FormData

from web.page import Page, Refusal


def text(form: FormData, name: str, limit: int = 5000) -> str:
    """The field's text, cut at ``limit`` characters ("" when absent or a file); the
    service checks the real bounds and names what it refuses."""
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def idempotency_key(form: FormData) -> str | None:
    """The key the form was rendered with: sent twice, the write is carried out once."""
    return text(form, "idempotency_key", 255) or None


def expired(page: Page) -> Refusal:
    return Refusal(page.gettext("This form has expired. Please send it again."))


def unconfirmed(page: Page, message: str, field: str, field_message: str) -> Refusal:
    """A form whose confirmation box was left unticked: refused here, nothing sent. The
    messages are catalogue messages (marked where the pages use them)."""
    return Refusal(page.gettext(message), {field: page.gettext(field_message)})
