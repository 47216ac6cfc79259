"""Public API v1 models for accounts and tokens (shared by the gateway and registration)."""

from __future__ import annotations

from pydantic import BaseModel, EmailStr, Field

MIN_PASSWORD_LENGTH = 10


class NewAccount(BaseModel):
    email: EmailStr
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)
    display_name: str = Field(min_length=1, max_length=200)


class AccountCreatedAnswer(BaseModel):
    account_id: str


class Credentials(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class TokenAnswer(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeAnswer(BaseModel):
    account_id: str
    email: str
    display_name: str
    roles: list[str]
