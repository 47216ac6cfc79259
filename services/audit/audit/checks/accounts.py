"""Accounts and their roles: every account referred to was announced (``AccountCreated``, or
named by a role change, reported once), and the role an actor needed (organizer) is the one
its account had when it acted, by ``occurred_at``."""

from __future__ import annotations

from datetime import datetime

from audit.checks.state import LogState, occurred
from audit.facts import AccountCreatedFact, AccountErasedFact, AccountRolesChangedFact
from audit.reading import Item


def check_accounts(s: LogState) -> None:
    for _item, created in s.of(AccountCreatedFact):
        if s.created.setdefault(created.account_id, created) is not created:
            s.role_changes.setdefault(created.account_id, []).append(created)
    for item, changed in s.of(AccountRolesChangedFact):
        account = changed.account_id
        if not is_account(s, account):
            s.unknown(item, "account", account)
        s.role_changes.setdefault(account, []).append(changed)
    for item, erased in s.of(AccountErasedFact):
        if not is_account(s, erased.account_id):
            s.unknown(item, "account", erased.account_id)


def is_account(s: LogState, account_id: str) -> bool:
    """Announced by an AccountCreated, or named by a role change (reported once)."""
    return account_id in s.created or account_id in s.role_changes


def known_account(s: LogState, item: Item, account_id: str) -> bool:
    """Whether the account was announced; reported when it was not."""
    if is_account(s, account_id):
        return True
    s.unknown(item, "account", account_id)
    return False


def is_organizer(s: LogState, account_id: str, when: datetime) -> bool:
    first = s.created.get(account_id)
    entries = ([first] if first is not None else []) + s.role_changes.get(account_id, [])
    roles: tuple[str, ...] = ()
    for entry in sorted(entries, key=lambda e: e.occurred_at):
        if entry.occurred_at <= when:
            roles = entry.roles
    return "organizer" in roles


def require_organizer(s: LogState, item: Item, actor: str, what: str) -> None:
    """``what`` (the event ``item``) was done by ``actor``, who must be an organizer then."""
    if not known_account(s, item, actor):
        return
    if not is_organizer(s, actor, occurred(item)):
        s.report("rule", "not-organizer", f"{what} by {actor}, not an organizer", item)
