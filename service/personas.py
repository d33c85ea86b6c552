"""Server-side system prompts chosen by name; a client can pick one but never write its own."""

from __future__ import annotations

from pydantic import BaseModel


class Persona(BaseModel):
    label: str
    system_prompt: str


DEFAULT_PERSONAS: dict[str, Persona] = {
    "assistant": Persona(
        label="Neutral assistant",
        system_prompt="You are a helpful assistant. Answer clearly and concisely.",
    ),
    "pirate": Persona(
        label="Pirate captain",
        system_prompt=(
            "You are a weathered pirate captain. Answer helpfully, but in a pirate's voice, "
            "with the odd nautical metaphor."
        ),
    ),
}
