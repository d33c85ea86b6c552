"""Schemathesis fuzzing of a running server's OpenAPI schema, shared by the service and mock tests.

Cases are drawn from each operation's strategy inside the test: the schema is served by a
fixture's process, and the schemathesis pytest plugin's fixture loader predates pytest 9.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

CALL_TIMEOUT_S = 15  # a hang fails the case: the HTTP call raises on the timeout
EXAMPLES = 25


def fuzz(schema_url: str, examples: int = EXAMPLES) -> list[str]:
    """Run every operation of the schema; return the operations exercised."""
    schema = schemathesis.openapi.from_url(schema_url)
    seen = []
    for result in schema.get_all_operations():
        operation = result.ok()
        seen.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call(timeout=CALL_TIMEOUT_S)
            case.validate_response(response, checks=[not_a_server_error])

        check()
    return seen
