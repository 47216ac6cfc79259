from __future__ import annotations

from pydantic import Field

from hackathon_shared.settings import ServiceSettings
from registration.domain.sign_in import SignInPolicy


class RegistrationSettings(ServiceSettings):
    service_name: str = "registration"
    organizer_email: str | None = Field(default=None, alias="HACKATHON_ORGANIZER_EMAIL")
    organizer_password: str | None = Field(default=None, alias="HACKATHON_ORGANIZER_PASSWORD")
    organizer_display_name: str = "Organizer"
    consent_policy_version: str = "2026-01"
    # Failed sign-ins (registration.domain.sign_in): per (e-mail, client address) before that
    # client is refused for that e-mail, over the window; per e-mail, from every client, before
    # each attempt waits (doubling from 0.25 s up to the longest delay; never a refusal).
    sign_in_max_failures: int = Field(default=5, ge=1)
    sign_in_window_seconds: float = Field(default=900.0, gt=0)
    sign_in_slowdown_after: int = Field(default=10, ge=0)
    # Below the gateway's UPSTREAM_TIMEOUT_SECONDS (15), so that a slowed sign-in still answers.
    sign_in_max_delay_seconds: float = Field(default=2.0, ge=0, le=10)

    def sign_in_policy(self) -> SignInPolicy:
        return SignInPolicy(
            max_failures=self.sign_in_max_failures,
            window_seconds=self.sign_in_window_seconds,
            slowdown_after=self.sign_in_slowdown_after,
            max_delay_seconds=self.sign_in_max_delay_seconds,
        )
