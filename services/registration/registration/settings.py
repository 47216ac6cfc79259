from __future__ import annotations

from pydantic import Field

from hackathon_shared.settings import ServiceSettings


class RegistrationSettings(ServiceSettings):
    service_name: str = "registration"
    organizer_email: str | None = Field(default=None, alias="HACKATHON_ORGANIZER_EMAIL")
    organizer_password: str | None = Field(default=None, alias="HACKATHON_ORGANIZER_PASSWORD")
    organizer_display_name: str = "Organizer"
    consent_policy_version: str = "2026-01"
    sign_in_max_failures: int = 5
    sign_in_window_seconds: float = 900.0
