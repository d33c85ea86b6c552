"""ghoststream: test, measure and load any LLM streaming service.

`ghoststream.protocols` holds the wire formats (pure, no I/O), `ghoststream.harness` the timing
client, records and statistics, and the shared server helpers sit beside them.
"""
