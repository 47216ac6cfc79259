from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class AccountRow(SQLModel, table=True):
    __tablename__ = "accounts"

    account_id: str = Field(primary_key=True, max_length=64)
    email: str | None = Field(default=None, max_length=320, unique=True)
    display_name: str | None = Field(default=None, max_length=200)
    password_hash: str | None = Field(default=None, max_length=255)
    roles: str = Field(default="participant", max_length=200)
    created_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))

    def role_list(self) -> list[str]:
        return [r for r in self.roles.split(",") if r]
