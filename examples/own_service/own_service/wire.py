"""The service's event format, described for ghoststream's readers and registered by name, so
the timing client, `ghoststream-probe --format own-service` and Locust users can read it."""

from ghoststream.protocols import SSEFormat, register_format

FORMAT = "own-service"
register_format(FORMAT, SSEFormat(token_event="delta", text_path="t", end_event="end"))
