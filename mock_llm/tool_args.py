"""A tool call's arguments, made up from the tool's JSON schema, the same every time.

The same schema, seed and conversation give the same arguments, in any process. What the schema
does not pin down (a string's words, a number's value) is seeded; what it pins down (`enum`,
`const`, `minimum`/`maximum`, `minItems`, required properties) is honoured, so a caller that
validates arguments against its own schema accepts them.

Arrays repeat their items, so nested arrays multiply: a few hundred bytes of schema could ask for
millions of values. The arguments are made within a budget (MAX_ARGUMENT_BYTES, roughly): once it
is spent, arrays stop growing and further values are `null`, so a hostile schema costs bounded
time and memory, and every ordinary one is untouched.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import orjson

from .content import stream_seed

WORDS = ("river", "harbour", "lantern", "mountain", "quiet", "bright", "Paris", "Lisbon")
MAX_DEPTH = 8
MAX_ARGUMENT_BYTES = 64 * 1024
VALUE_COST = 8
"""The least a value is counted for, so that empty ones are not free."""


class _Budget:
    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_ARGUMENT_BYTES

    def spend(self, value: Any) -> Any:
        """Count `value` against the budget (its JSON size for text and constants) and return it."""
        size = len(value) if isinstance(value, str) else VALUE_COST
        if isinstance(value, dict | list):
            size = len(orjson.dumps(value))  # a schema's own `const` / `enum` value
        self.left -= max(size, VALUE_COST)
        return value


def generate(schema: Mapping[str, Any], seed: int, digest: str) -> str:
    """The arguments as compact JSON text (an object, as every API expects)."""
    rng = random.Random(stream_seed(seed, digest) ^ 0x7001)
    value = _value(schema, rng, 0, _Budget())
    if not isinstance(value, dict):
        value = {"value": value}
    return orjson.dumps(value).decode()


def _value(schema: Any, rng: random.Random, depth: int, budget: _Budget) -> Any:
    if budget.left <= 0:
        return None
    if not isinstance(schema, Mapping) or depth > MAX_DEPTH:
        return budget.spend(None)
    if "const" in schema:
        return budget.spend(schema["const"])
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return budget.spend(enum[rng.randrange(len(enum))])
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return _value(options[0], rng, depth + 1, budget)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return budget.spend({})
        return {
            budget.spend(str(name)): _value(sub, rng, depth + 1, budget)
            for name, sub in properties.items()
        }
    if kind == "array":
        low = schema.get("minItems", 1)
        count = low if isinstance(low, int) and 0 <= low <= 8 else 1
        items: list[Any] = []
        for _ in range(max(1, count)):
            if budget.left <= 0:
                break
            items.append(_value(schema.get("items", {}), rng, depth + 1, budget))
        return items
    if kind in ("integer", "number"):
        low, high = schema.get("minimum", 0), schema.get("maximum", 100)
        if not isinstance(low, int | float) or not isinstance(high, int | float) or low > high:
            low, high = 0, 100
        if kind == "integer":
            return budget.spend(rng.randint(int(low), int(high)))
        return budget.spend(round(rng.uniform(low, high), 2))
    if kind == "boolean":
        return budget.spend(rng.random() < 0.5)
    if kind == "null":
        return budget.spend(None)
    return budget.spend(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 2))))
