"""A mock OpenAI-compatible LLM server with a deterministic schedule, faults and evidence."""
