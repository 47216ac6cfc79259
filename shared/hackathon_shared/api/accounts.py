"""Public API v1 models for accounts and tokens (shared by the gateway and registration).

Passwords are taken exactly as sent, never normalised: the stored hashes were made of the
characters people typed, and a normalisation added later would lock some of them out."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, EmailStr, Field

from hackathon_shared.api.inputs import InputModel
from hackathon_shared.text import Line

MIN_PASSWORD_LENGTH = 10


class NewAccount(InputModel):
    email: EmailStr
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)
    display_name: Annotated[str, Line(max_length=200)]


class AccountCreatedAnswer(BaseModel):
    account_id: str


class Credentials(InputModel):
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
