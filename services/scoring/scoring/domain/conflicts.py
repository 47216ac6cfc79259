"""Which teams a judge must not judge: the conflicts they declared, and every team they are or
were a member of in that hackathon. Membership needs no declaration, and leaving the team does
not end the conflict."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Conflicts:
    declared: frozenset[str]
    member_of: frozenset[str]

    @classmethod
    def of(cls, declared: Iterable[str], member_of: Iterable[str]) -> Conflicts:
        return cls(frozenset(declared), frozenset(member_of))

    @property
    def teams(self) -> frozenset[str]:
        return self.declared | self.member_of

    def reason(self, team_id: str) -> str | None:
        """Why the judge may not judge ``team_id``, or None when they may."""
        if team_id in self.member_of:
            return "you are or were a member of this team"
        if team_id in self.declared:
            return "you declared a conflict with this team"
        return None
