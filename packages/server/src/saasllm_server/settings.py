"""Gateway settings: environment variables (``SAASLLM_*``), an optional settings file, defaults.

Defaults are the embedded set-up (SQLite file, in-process limits) so a laptop
needs nothing; production overrides ``DATABASE_URL`` and friends.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SAASLLM_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///./saasllm.db",
        validation_alias=AliasChoices("SAASLLM_DATABASE_URL", "DATABASE_URL", "database_url"),
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    admin_key: SecretStr | None = Field(
        default=None,
        description="Bearer token of the admin API; unset disables the admin API.",
    )
    config_file: Path | None = Field(
        default=None,
        description="YAML: model_list, router_settings, model_groups, tenancy bootstrap.",
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` listens on.")
    port: int = Field(default=8003, ge=1, le=65535, description="Port `serve` listens on.")

    max_body_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="Largest request body."
    )
    max_header_bytes: int = Field(
        default=32 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="Largest request head (request line and headers); more is answered 431 "
        "and the connection closed.",
    )
    max_headers: int = Field(
        default=100, ge=10, le=10_000, description="Most header fields in one request (431)."
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="A connection must finish each request's headers this many seconds after "
        "it opens (or after the first byte of its next request), or it is closed.",
    )
    keep_alive_timeout_s: int = Field(
        default=5,
        ge=1,
        description="An idle keep-alive connection is closed after this many seconds "
        "(uvicorn's timeout_keep_alive); a proxy in front should give up on it sooner.",
    )
    max_connections: int = Field(
        default=2048,
        ge=8,
        description="Open client connections per process; connections beyond it are closed "
        "as soon as they are accepted, before anything is read.",
    )
    default_rpm_limit: int | None = Field(
        default=600, ge=1, description="Per-team requests/minute."
    )
    default_max_concurrent_streams: int | None = Field(
        default=32, ge=1, description="Per-team open streams."
    )
    upstream_connect_timeout_s: float = Field(
        default=5.0, gt=0, description="Longest wait to connect to a model provider."
    )
    first_chunk_timeout_s: float = Field(
        default=30.0, gt=0, description="Longest wait for an upstream's first chunk."
    )
    upstream_read_timeout_s: float = Field(
        default=120.0, gt=0, description="Longest silence from an upstream mid-answer."
    )
    heartbeat_interval_s: float = Field(
        default=15.0, gt=0, description="Send a ': ping' comment after this long without data."
    )
    send_timeout_s: float = Field(
        default=30.0, gt=0, description="Cut a client that accepts no data for this long."
    )
    resume_retention_s: float = Field(
        default=30.0, ge=0, description="How long a finished job-API stream can be resumed."
    )
    resume_max_grace_s: float = Field(
        default=30.0,
        ge=0,
        description="Longest X-Resume-Grace a client may ask for: how long an upstream keeps "
        "streaming for a client that lost its connection.",
    )
    admission_cache_ttl_s: float = Field(
        default=1.0,
        ge=0,
        description="How long a job's open/closed state and a team's balance are reused for "
        "admitting calls (0: read them for every call). Charges never use the cache.",
    )
    hold_max_tokens: int = Field(
        default=1024,
        ge=1,
        le=1_000_000,
        description="Under per_token and per_usd billing, a call without max_tokens holds "
        "credits for this many output tokens until its job settles.",
    )
    complete_wait_s: float = Field(
        default=30.0,
        ge=0,
        le=600,
        description="Under per_token and per_usd billing, how long completing a job waits for "
        "its calls still running on this replica before answering 409 calls_in_flight.",
    )
    record_window_s: float = Field(
        default=0.02,
        ge=0,
        le=5,
        description="On SQLite, call records are committed in batches at most this far apart "
        "(reads through the API always see them; a crash loses at most this window). On "
        "PostgreSQL each call's record is committed before its stream ends.",
    )
    job_idle_timeout_s: float = Field(
        default=3600.0,
        gt=0,
        description="An open job that no process has worked on for this long (its client "
        "vanished, or its replica died) is settled from its recorded calls and its holds "
        "released.",
    )
    call_progress_interval_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="A stream running longer than this records what it has used so far at "
        "least this often (in the call records' group commit; the final record replaces it), "
        "so a replica that dies mid-stream loses at most this much of its usage.",
    )
    waive_upstream_failures: bool = Field(
        default=False,
        description="Leave calls that failed because of the model provider (an error status, "
        "a stream it broke off) out of every charge, and close a one-call job whose stream "
        "the provider broke as failed. By default what such a call delivered is paid for.",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies (comma-separated addresses or networks, '*' for any) whose "
        "X-Forwarded-For names the client; a client's address is what slows down its bad "
        "keys.",
    )
    publish_admin_schema: bool = Field(
        default=False,
        description="Describe the admin API in the public /openapi.json and /docs too "
        "(otherwise it is at /admin/openapi.json, for admin keys).",
    )
    opentelemetry: bool = Field(
        default=False, description="Emit FastAPI's OpenTelemetry traces, metrics and logs."
    )
    key_cache_ttl_s: float = Field(default=10.0, ge=0, description="Virtual-key lookup cache TTL.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        settings_file = _settings_file()
        if settings_file is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=settings_file))
        return tuple(sources)


def _settings_file() -> Path | None:
    import os

    value = os.environ.get("SAASLLM_SETTINGS_FILE")
    return Path(value) if value else None
