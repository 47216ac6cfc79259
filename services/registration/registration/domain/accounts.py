"""Accounts: the rules that do not need a database."""

from __future__ import annotations

import uuid

ORGANIZER = "organizer"
PARTICIPANT = "participant"


def normalise_email(email: str) -> str:
    """E-mail addresses are unique case-insensitively; they are stored in this form."""
    return email.strip().lower()


def new_account_id() -> str:
    return f"acc_{uuid.uuid4().hex}"
