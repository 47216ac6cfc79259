"""The web app's settings; environment variables carry the same names in upper case."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    # Where the gateway is, as this process reaches it; the API is under /api/v1 there.
    gateway_url: str = "http://127.0.0.1:8080"
    # Keys the CSRF tokens of the forms; the run command generates one into the data
    # directory, compose takes it as a secret. The web app refuses to start without it.
    session_secret: str | None = Field(default=None, alias="WEB_SESSION_SECRET")
    # Set behind HTTPS: the session cookies then carry Secure.
    secure_cookies: bool = Field(default=False, alias="WEB_SECURE_COOKIES")
    # How long a call to the gateway may take (the gateway's own bound is 15 s).
    gateway_timeout_seconds: float = 20.0
    # The privacy-policy version the registration form's consent text is (registration
    # records the same setting with each consent; the run command and compose give both).
    consent_policy_version: str = "2026-01"
    log_level: str = "INFO"

    def secret(self) -> str:
        if not self.session_secret or len(self.session_secret) < 32:
            raise RuntimeError("WEB_SESSION_SECRET must be set, at least 32 characters")
        return self.session_secret
