"""Configuration from the environment (pydantic-settings).

The upstream is named the way the openai SDK names it (`OPENAI_API_KEY`, `OPENAI_BASE_URL`),
plus `LLM_MODEL` and `LOG_LEVEL`; the service's own knobs are `GHOSTSTREAM_*`. With neither
`OPENAI_API_KEY` nor `OPENAI_BASE_URL` set, the service runs on the embedded mock.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.personas import DEFAULT_PERSONAS, Persona

OPENAI_BASE_URL = "https://api.openai.com/v1"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GHOSTSTREAM_", extra="ignore")

    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL")
    )
    llm_model: str = Field(default="gpt-4o-mini", validation_alias=AliasChoices("LLM_MODEL"))
    log_level: str = Field(default="info", validation_alias=AliasChoices("LOG_LEVEL"))

    personas: dict[str, Persona] = Field(default_factory=lambda: dict(DEFAULT_PERSONAS))
    default_persona: str = "assistant"

    max_body_bytes: int = 64 * 1024
    max_prompt_chars: int = 16_000
    max_messages: int = 64
    max_tokens_limit: int = 4096

    connect_timeout_s: float = 5.0
    first_token_timeout_s: float = 30.0
    idle_timeout_s: float = 30.0
    heartbeat_s: float = 15.0
    retry_attempts: int = 2
    retry_max_wait_s: float = 5.0
    max_upstream_connections: int = 20_000

    @model_validator(mode="after")
    def _default_persona_exists(self) -> Settings:
        if self.default_persona not in self.personas:
            raise ValueError(f"default persona {self.default_persona!r} is not among the personas")
        return self

    @field_validator("openai_api_key", "openai_base_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`OPENAI_API_KEY=` (set but empty) means "not set", as it does for the openai SDK."""
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def uses_embedded_mock(self) -> bool:
        return self.openai_api_key is None and self.openai_base_url is None

    @property
    def upstream_base_url(self) -> str:
        return (self.openai_base_url or OPENAI_BASE_URL).rstrip("/")
