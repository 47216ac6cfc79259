from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.forwarded import ClientResolver, ForwardedHeader, parse_networks


class GatewaySettings(BaseSettings):
    """Where the services are, and the edge's own limits. Environment variables carry the
    same names in upper case."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    registration_url: str = "http://127.0.0.1:8001"
    submissions_url: str = "http://127.0.0.1:8002"
    scoring_url: str = "http://127.0.0.1:8003"
    notifications_url: str = "http://127.0.0.1:8004"
    # The web app (services/web), served at every path outside the API; none: no pages.
    web_url: str | None = None
    # Above the longest a service may take by its own bounds (barrier 5 s, SQLite busy 5 s,
    # write acknowledgement 2 s), so that a write that commits is never answered 504.
    upstream_timeout_seconds: float = 15.0
    # Spreading requests over a service's replicas (see gateway.balancing): how long the
    # addresses a service's name resolves to are reused, pooled connections per address, and
    # fixed addresses for names instead of DNS, e.g. {"scoring": ["10.0.0.5:8000"]}.
    upstream_resolve_seconds: float = 5.0
    upstream_max_keepalive_connections: int = 20
    # Below uvicorn's own keep-alive (5 s), so that the gateway lets an idle connection go
    # before the service closes it under a request being sent.
    upstream_keepalive_expiry_seconds: float = 4.0
    upstream_hosts: dict[str, list[str]] = Field(default_factory=dict)
    jwt_secret: str | None = Field(default=None, alias="HACKATHON_JWT_SECRET")
    # The edge's protections (see gateway.edge). Origins allowed to call the API from a
    # browser, comma-separated (none by default: same-origin frontends need none).
    cors_allow_origins: str = ""
    max_body_bytes: int = Field(default=262_144, ge=1024)
    # Rate limits, as "N/second|minute|hour" (several joined by ";"), per client.
    rate_limit_sign_up: str = "20/minute"
    rate_limit_sign_in: str = "30/minute"
    rate_limit_writes: str = "120/minute"
    rate_limit_storage_uri: str = "async+memory://"
    # Proxies in front of the gateway whose forwarding header is believed (addresses or CIDR
    # networks, comma-separated; none by default: the client is the connection's peer), and
    # which header they write (see gateway.forwarded and docs/sign-in-and-proxies.md).
    trusted_proxies: str = ""
    forwarded_header: ForwardedHeader = "x-forwarded-for"
    # Strict-Transport-Security max-age; set it when the gateway is served over HTTPS.
    hsts_seconds: int = Field(default=0, ge=0)
    log_level: str = "INFO"

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        parse_networks(value)  # a typo must stop the start, not trust nobody (or everybody)
        return value

    @field_validator("forwarded_header", mode="before")
    @classmethod
    def _header_name_in_any_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    def cors_origins(self) -> list[str]:
        return [origin.strip() for origin in self.cors_allow_origins.split(",") if origin.strip()]

    def client_resolver(self) -> ClientResolver:
        return ClientResolver(parse_networks(self.trusted_proxies), self.forwarded_header)

    def service_urls(self) -> dict[str, str]:
        return {
            "registration": self.registration_url,
            "submissions": self.submissions_url,
            "scoring": self.scoring_url,
            "notifications": self.notifications_url,
        }
