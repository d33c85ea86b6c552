"""Configuration from the environment (pydantic-settings).

`LLM_API` picks the upstream's dialect (`chat`, `responses`, `anthropic`); the upstream is named
the way that API's SDK names it (`OPENAI_API_KEY` / `OPENAI_BASE_URL`, or `ANTHROPIC_API_KEY` /
`ANTHROPIC_BASE_URL`), plus `LLM_MODEL` and `LOG_LEVEL`; the service's own knobs are
`GHOSTSTREAM_*`. With neither the key nor the base URL of the chosen API set, the service runs on
the embedded mock, in that dialect.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ghoststream.http_guard import HttpLimits
from ghoststream.protocols import dialect
from service.personas import DEFAULT_PERSONAS, Persona

OPENAI_BASE_URL = "https://api.openai.com/v1"
ANTHROPIC_BASE_URL = "https://api.anthropic.com"
DEFAULT_MODELS = {
    "chat": "gpt-4o-mini",
    "responses": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GHOSTSTREAM_", extra="ignore")

    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL")
    )
    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_API_KEY")
    )
    anthropic_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_BASE_URL")
    )
    llm_api: Literal["chat", "responses", "anthropic"] = Field(
        default="chat", validation_alias=AliasChoices("LLM_API")
    )
    llm_model_set: str | None = Field(default=None, validation_alias=AliasChoices("LLM_MODEL"))
    log_level: str = Field(default="info", validation_alias=AliasChoices("LOG_LEVEL"))
    log_format: Literal["json", "text"] = "json"

    personas: dict[str, Persona] = Field(default_factory=lambda: dict(DEFAULT_PERSONAS))
    default_persona: str = "assistant"

    max_body_bytes: int = 64 * 1024
    max_prompt_chars: int = 16_000
    max_messages: int = 64
    max_tokens_limit: int = 4096

    service_api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("SERVICE_API_KEYS")
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_streams: int = 5000
    max_streams_per_client: int = 20
    rate_per_client_s: float = 5.0
    rate_burst: int = 20
    auth_failure_rate_s: float = 0.2
    auth_failure_burst: int = 10
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_stream_s: float = 600.0
    shutdown_grace_s: int = 10

    connect_timeout_s: float = 5.0
    first_token_timeout_s: float = 30.0
    idle_timeout_s: float = 30.0
    heartbeat_s: float = 15.0
    retry_attempts: int = 2
    retry_max_wait_s: float = 5.0
    max_upstream_connections: int = 20_000

    max_header_bytes: int = 32 * 1024
    max_headers: int = 100
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keepalive_timeout_s: float = 5.0
    max_connections_per_client: int = 256

    @field_validator("service_api_keys", "cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """`SERVICE_API_KEYS=k1,k2` as well as a JSON list."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _default_persona_exists(self) -> Settings:
        if self.default_persona not in self.personas:
            raise ValueError(f"default persona {self.default_persona!r} is not among the personas")
        return self

    @field_validator(
        "openai_api_key",
        "openai_base_url",
        "anthropic_api_key",
        "anthropic_base_url",
        "llm_model_set",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`OPENAI_API_KEY=` (set but empty) means "not set", as it does for the openai SDK."""
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def llm_model(self) -> str:
        return self.llm_model_set or DEFAULT_MODELS[self.llm_api]

    @property
    def _anthropic(self) -> bool:
        return self.llm_api == "anthropic"

    @property
    def _key(self) -> SecretStr | None:
        return self.anthropic_api_key if self._anthropic else self.openai_api_key

    @property
    def _base_url(self) -> str | None:
        return self.anthropic_base_url if self._anthropic else self.openai_base_url

    @property
    def uses_embedded_mock(self) -> bool:
        return self._key is None and self._base_url is None

    @property
    def upstream_base_url(self) -> str:
        """As the API's SDK takes it: OpenAI's ends in `/v1`, Anthropic's does not."""
        default = ANTHROPIC_BASE_URL if self._anthropic else OPENAI_BASE_URL
        return (self._base_url or default).rstrip("/")

    @property
    def upstream_key(self) -> str | None:
        return None if self._key is None else self._key.get_secret_value()

    def upstream_url(self, mock_root: str | None = None) -> str:
        """Where streams are opened: the dialect's route under the configured base URL, or under
        the embedded mock's root."""
        api = dialect(self.llm_api)
        return mock_root + api.path if mock_root is not None else api.url(self.upstream_base_url)

    def http_limits(self) -> HttpLimits:
        return HttpLimits(
            max_header_bytes=self.max_header_bytes,
            max_headers=self.max_headers,
            header_timeout_s=self.header_timeout_s,
            body_timeout_s=self.body_timeout_s,
            idle_timeout_s=self.keepalive_timeout_s,
            max_connections_per_client=self.max_connections_per_client,
        )

    @property
    def upstream_shown(self) -> str:
        """The upstream as health checks and logs may show it: never its credentials."""
        if self.uses_embedded_mock:
            return "embedded mock"
        return redacted(self.upstream_base_url)


def redacted(url: str) -> str:
    """`url` without userinfo, query or fragment: what may appear in a response or a log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host + (f":{port}" if port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
