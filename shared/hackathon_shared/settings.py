"""Settings every service reads from its environment (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hackathon_shared.signing import EventSigner, TrustedKeys, load_signer, load_trusted_keys
from hackathon_shared.topics import Topics


class ServiceSettings(BaseSettings):
    """Common settings. Environment variables carry the same names in upper case."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    service_name: str = "service"
    data_dir: Path = Field(default=Path(".hackathon"), alias="HACKATHON_DATA_DIR")
    database_url: str | None = None
    # Connections the service keeps open to its database. The gateway sends at most
    # UPSTREAM_MAX_KEEPALIVE_CONNECTIONS (20) requests to a replica at once; with fewer kept
    # connections than that, every request beyond them opened and closed one of its own (on
    # SQLite a thread each, on PostgreSQL a login): 3-6 % of a busy service's CPU. Up to as
    # many again are opened for bursts and closed after them.
    database_pool_size: int = Field(default=24, ge=1)
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    topic_partitions: int = 3
    # No default: a service that could verify tokens with a well-known key would accept forged
    # ones, so it refuses to start without a secret (the run command generates one).
    jwt_secret: str | None = Field(default=None, alias="HACKATHON_JWT_SECRET", min_length=16)
    jwt_ttl_seconds: int = 900
    # Event signatures (hackathon_shared.signing, docs/event-signing.md): this service's own
    # Ed25519 key, and the public keys of every producer it accepts events from. No default:
    # a service without them would accept forged events, so it refuses to start (the run
    # command generates both into the data directory).
    event_signing_key_file: Path | None = None
    event_trusted_keys_file: Path | None = None
    relay_interval_seconds: float = 0.2
    relay_batch_size: int = 500
    # Set when the broker is known to have lost its log (the memory-only embedded broker after
    # a restart): the outbox is then published again from its first row at start-up.
    outbox_republish_on_start: bool = False
    consumer_batch_size: int = 500
    consumer_retries: int = 3
    consumer_retry_backoff_seconds: float = 0.2
    # Group membership timing. Unset: the client's defaults on Apache Kafka, and short ones on
    # the embedded broker (detected at start-up), which holds a join for half the session
    # timeout; Apache Kafka refuses session timeouts under 6 s by default.
    consumer_session_timeout_ms: int | None = None
    consumer_heartbeat_interval_ms: int | None = None

    def consumer_timing_overrides(self) -> dict[str, int]:
        overrides: dict[str, int] = {}
        if self.consumer_session_timeout_ms is not None:
            overrides["session_timeout_ms"] = self.consumer_session_timeout_ms
        if self.consumer_heartbeat_interval_ms is not None:
            overrides["heartbeat_interval_ms"] = self.consumer_heartbeat_interval_ms
        return overrides

    # Consistency (docs/consistency.md). A write answers once its events are in the log, or
    # 202 after this bound; a decision that depends on other services' facts waits this long
    # for the service to reach the log's end before it answers 503 catching-up.
    write_ack_timeout_seconds: float = 2.0
    consistency_wait_seconds: float = 5.0
    # How long a consumer holds an event whose named positions it has not applied yet before
    # the batch is redelivered (it is never applied early).
    causal_wait_seconds: float = 30.0
    # How promptly consumers fetch: the broker holds an empty fetch up to the first. Apache
    # Kafka answers a held fetch as soon as data arrives, so unset means 500 there. Tansu
    # (0.6) answers a held fetch early too, but late (tens of ms after the data for a hold of
    # 200-300 ms, not before the end of longer ones; bench/fetch_wait.py measures it): unset
    # means 50 there, which arrives about as fast as 10 and makes a third of the empty
    # fetches, each of which costs the consumer and the broker CPU (a service has one
    # consumer per topic; docs/benchmarks.md).
    # The second is how long a consumer waits in its fetch for records before it looks
    # again (hackathon_shared.prompt_batches): records are handed on the moment they arrive
    # whatever its value; it only sets how often an idle consumer loops.
    consumer_fetch_max_wait_ms: int | None = None
    consumer_batch_timeout_ms: int = 1000

    def fetch_max_wait_ms_for(self, tansu: bool) -> int:
        if self.consumer_fetch_max_wait_ms is not None:
            return self.consumer_fetch_max_wait_ms
        return 50 if tansu else 500

    log_level: str = "INFO"

    def signing_secret(self) -> str:
        if not self.jwt_secret:
            raise RuntimeError(
                "HACKATHON_JWT_SECRET must be set (the same value for every service)"
            )
        return self.jwt_secret

    def event_keys(self) -> tuple[EventSigner, TrustedKeys]:
        """This service's signing key and the trusted public keys; refuses without them."""
        if self.event_signing_key_file is None or self.event_trusted_keys_file is None:
            raise RuntimeError(
                "EVENT_SIGNING_KEY_FILE and EVENT_TRUSTED_KEYS_FILE must be set: a service "
                "signs the events it publishes and accepts only signed ones "
                "(docs/event-signing.md; the run command generates them)"
            )
        signer = load_signer(self.event_signing_key_file, self.service_name)
        trusted = load_trusted_keys(self.event_trusted_keys_file)
        if signer.key_id not in trusted:
            raise RuntimeError(
                f"this service's own key {signer.key_id} is not among the trusted keys in "
                f"{self.event_trusted_keys_file}: its events would be refused"
            )
        return signer, trusted

    def resolved_database_url(self) -> str:
        """``DATABASE_URL`` if given, else a SQLite file named after the service in the data
        directory."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{self.service_name}.db').resolve()}"

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)
