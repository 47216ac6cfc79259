from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """Where the services are, and the edge's own limits. Environment variables carry the
    same names in upper case."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    registration_url: str = "http://127.0.0.1:8001"
    submissions_url: str = "http://127.0.0.1:8002"
    scoring_url: str = "http://127.0.0.1:8003"
    notifications_url: str = "http://127.0.0.1:8004"
    upstream_timeout_seconds: float = 10.0
    jwt_secret: str | None = Field(default=None, alias="HACKATHON_JWT_SECRET")
    log_level: str = "INFO"

    def service_urls(self) -> dict[str, str]:
        return {
            "registration": self.registration_url,
            "submissions": self.submissions_url,
            "scoring": self.scoring_url,
            "notifications": self.notifications_url,
        }
