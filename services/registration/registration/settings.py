from __future__ import annotations

from pydantic import Field

from hackathon_shared.settings import ServiceSettings


class RegistrationSettings(ServiceSettings):
    service_name: str = "registration"
    organizer_email: str | None = Field(default=None, alias="HACKATHON_ORGANIZER_EMAIL")
    organizer_password: str | None = Field(default=None, alias="HACKATHON_ORGANIZER_PASSWORD")
    organizer_display_name: str = "Organizer"
