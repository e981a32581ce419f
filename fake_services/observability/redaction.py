"""Removal of secrets from anything about to be logged.

Two independent nets, because either alone leaks: sensitive *keys* (at any nesting level, and in
free text such as exception messages, `password=...`) and known secret *values* (API keys,
database passwords, values from WRK_REDACT_VALUES) wherever they appear inside a string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

REDACTED = "[REDACTED]"

SENSITIVE_KEY_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "signature",
    "api_key",
    "apikey",
    "credential",
    "cookie",
    "private_key",
)

# Values this short would redact ordinary words and ids; real secrets are longer.
MIN_SECRET_LENGTH = 4

_KEY_ALTERNATION = "|".join(re.escape(part).replace("_", "[_-]?") for part in SENSITIVE_KEY_PARTS)
# `key=value`, `key: value`, `"key": "value"`, `Authorization: Bearer abc` inside free text.
_KEY_IN_TEXT = re.compile(
    r"(?i)(?P<key>[\"']?[\w-]*(?:" + _KEY_ALTERNATION + r")[\w-]*[\"']?\s*[:=]\s*)"
    r"(?P<value>\"[^\"]*\"|'[^']*'|(?:bearer|basic|token)\s+[^\s,;&'\"}]+|[^\s,;&'\"}]+)"
)


_KEY_SCREEN = re.compile(r"(?i)" + _KEY_ALTERNATION)


def is_sensitive_key(key: str) -> bool:
    normalized = key.lower().replace("-", "_")
    return any(part in normalized for part in SENSITIVE_KEY_PARTS)


def _quote_like(original: str) -> str:
    if original[:1] in ("'", '"'):
        return original[0] + REDACTED + original[0]
    return REDACTED


@dataclass(frozen=True)
class Redactor:
    secret_values: frozenset[str] = field(default_factory=frozenset)
    _values_pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        usable = sorted((v for v in self.secret_values if len(v) >= MIN_SECRET_LENGTH), key=len)
        # Longest first, so a secret containing another secret is removed whole.
        pattern = "|".join(re.escape(v) for v in reversed(usable))
        object.__setattr__(self, "_values_pattern", re.compile(pattern) if pattern else None)

    @classmethod
    def from_env(cls, env: Mapping[str, str], extra: Iterable[str] = ()) -> Redactor:
        configured = (v.strip() for v in env.get("WRK_REDACT_VALUES", "").split(","))
        return cls(frozenset(v for v in (*configured, *extra) if v))

    def with_values(self, values: Iterable[str]) -> Redactor:
        return Redactor(self.secret_values | frozenset(v for v in values if v))

    def text(self, value: str) -> str:
        if self._values_pattern is not None:
            value = self._values_pattern.sub(REDACTED, value)
        # Cheap screen first: the full key=value pattern backtracks, and most strings on the
        # hot path (ids, routes, messages) name no sensitive key at all.
        if _KEY_SCREEN.search(value) is None:
            return value
        return _KEY_IN_TEXT.sub(lambda m: m["key"] + _quote_like(m["value"]), value)

    def redact(self, value: Any) -> Any:
        """A redacted copy of `value`; containers are rebuilt, the input is never mutated."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                k: REDACTED if is_sensitive_key(str(k)) else self.redact(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact(item) for item in value]
        if isinstance(value, bytes | bytearray):
            return self.text(value.decode("utf-8", errors="replace"))
        return value
