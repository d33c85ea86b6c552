"""ghoststream service: relays an OpenAI-compatible LLM stream to browsers over SSE."""
