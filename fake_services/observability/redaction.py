"""Removal of secrets from anything about to be logged.

Two independent nets, because either alone leaks: sensitive *keys* (at any nesting level, and in
free text such as exception messages, `password=...`) and known secret *values* (API keys,
database passwords, values from WRK_REDACT_VALUES) wherever they appear inside a string,
mapping keys included. A URL's password (`scheme://user:password@host`, as drivers print their
DSN in errors) is hidden too, configured or not.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fake_services import defects

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
_KEY_WORD = r"[\w-]*(?:" + _KEY_ALTERNATION + r")[\w-]*"
# A sensitive key and what separates it from its value inside free text: `key=value`,
# `key: value`, `"key": value` (JSON, a dict's repr; also escaped, `\"key\": \"value\"`, JSON
# inside a string), and a pair's repr or JSON, `('key', value)`, `["key", value]` (a header list
# printed in an exception message).
_KEY_IN_TEXT = re.compile(
    r"(?i)(?P<key>(?:\\?[\"'])?" + _KEY_WORD + r"(?:\\?[\"'])?\s*[:=]\s*"
    r"|[(\[]\s*b?(?P<quote>[\"'])" + _KEY_WORD + r"(?P=quote)\s*,\s*)"
    # Quoted with escaped quotes (up to the next escaped one), quoted (escapes included;
    # unterminated runs to the end), `Bearer abc`, a bare word, or the opening bracket of a
    # container, whose extent `_bracket_end` finds.
    r"(?P<value>\\(?P<eq>[\"'])(?s:(?!\\(?P=eq)).)*(?:\\(?P=eq)|\Z)"
    r"|b?\"(?:[^\"\\]|\\.)*(?:\"|\\?\Z)|b?'(?:[^'\\]|\\.)*(?:'|\\?\Z)"
    r"|(?:bearer|basic|token)\s+[^\s,;&'\"}]+|(?P<open>[\[({])|[^\s,;&'\"}]+)"
)
# What matters to a bracket's extent: brackets, quotes, and escapes (a character each).
_BRACKET_EVENTS = re.compile(r"(?s)\\.|[\[\](){}\"']")

# The password of a URL's userinfo. Unencoded `/ ? # @` cannot be in it (the URL would not
# parse), and excluding them keeps `host:port/path?x=a@b` from reading as credentials.
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*:)[^\s/?#@]+@")


_KEY_SCREEN = re.compile(r"(?i)" + _KEY_ALTERNATION)
# Substrings every match of _KEY_SCREEN contains (lower-cased ASCII): plain `in` tests are many
# times cheaper than the case-insensitive alternation, and almost every logged string has none.
_KEY_ANCHORS = tuple(sorted({part.split("_")[0] for part in SENSITIVE_KEY_PARTS}))


@functools.lru_cache(maxsize=4096)
def is_sensitive_key(key: str) -> bool:
    # Cached: log lines use the same few dozen field names over and over.
    normalized = key.lower().replace("-", "_")
    return any(part in normalized for part in SENSITIVE_KEY_PARTS)


def _plainly_safe(value: str, secrets: tuple[str, ...]) -> bool:
    """True when `value` holds no known secret, no sensitive key name and no URL with
    credentials: nothing to redact.
    Non-ASCII text goes the full way (regex case folding goes beyond str.lower())."""
    if any(secret in value for secret in secrets) or not value.isascii():
        return False
    if "@" in value and "://" in value:
        return False  # perhaps a URL with credentials
    lowered = value.lower()
    return not any(anchor in lowered for anchor in _KEY_ANCHORS)


# Values `redact` returns as they are, with None (bool and int enums are ints).
_NUMBERS = (int, float)

# Mapping keys remembered per redactor: field names repeat, payload keys need not (so bounded).
_KEY_CACHE_SIZE = 1024


def _quote_like(original: str) -> str:
    """The redacted value, quoted as the original was (`"x"`, `b'x'`, `\\"x\\"`)."""
    prefixed = original[1:2] in ("'", '"') and original[:1] in ("b", "B", "\\")
    prefix = original[:1] if prefixed else ""
    quote = original[len(prefix) : len(prefix) + 1]
    if quote not in ("'", '"'):
        return REDACTED
    closing = prefix + quote if prefix == "\\" else quote  # an escaped quote closes escaped
    return prefix + quote + REDACTED + closing


def _bracket_end(text: str, start: int) -> int:
    """Index just past the bracket opened at `start`, quoted text skipped; the end of `text`
    when it never closes (a truncated message is hidden to its end rather than leak)."""
    depth, quote = 0, ""
    for event in _BRACKET_EVENTS.finditer(text, start):
        char = event.group()
        if len(char) == 2 or (quote and char != quote):
            continue  # an escape, or a bracket or the other quote inside quoted text
        if quote:
            quote = ""
        elif char in "\"'":
            quote = char
        elif char in "[({":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return event.end()
    return len(text)


def _hide_key_values(text: str) -> str:
    """`text` with the value after every sensitive key hidden, containers whole."""
    parts: list[str] = []
    pos = 0
    while (match := _KEY_IN_TEXT.search(text, pos)) is not None:
        end = _bracket_end(text, match.start("open")) if match["open"] else match.end()
        parts += (text[pos : match.start("value")], _quote_like(match["value"]))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


@dataclass(frozen=True)
class Redactor:
    secret_values: frozenset[str] = field(default_factory=frozenset)
    _values_pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _usable: tuple[str, ...] = field(init=False, repr=False, compare=False)
    # str key -> (the key as logged, whether its value is hidden)
    _keys: dict[str, tuple[str, bool]] = field(init=False, repr=False, compare=False)
    # Defect log_signature_pair (fake_services.defects): a redactor blind to header pairs.
    _pairs_missed: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        usable = sorted((v for v in self.secret_values if len(v) >= MIN_SECRET_LENGTH), key=len)
        # Longest first, so a secret containing another secret is removed whole.
        pattern = "|".join(re.escape(v) for v in reversed(usable))
        object.__setattr__(self, "_values_pattern", re.compile(pattern) if pattern else None)
        object.__setattr__(self, "_usable", tuple(usable))
        object.__setattr__(self, "_keys", {})
        missed = defects.active(defects.Defect.LOG_SIGNATURE_PAIR)
        object.__setattr__(self, "_pairs_missed", missed)

    @classmethod
    def from_env(cls, env: Mapping[str, str], extra: Iterable[str] = ()) -> Redactor:
        configured = (v.strip() for v in env.get("WRK_REDACT_VALUES", "").split(","))
        return cls(frozenset(v for v in (*configured, *extra) if v))

    def with_values(self, values: Iterable[str]) -> Redactor:
        return Redactor(self.secret_values | frozenset(v for v in values if v))

    def _flat_and_safe(self, mapping: dict[Any, Any]) -> bool:
        """No nested container, no object that becomes text, and neither a sensitive key nor
        anything to redact among the keys and string values. Screening them joined is exact:
        a match inside one is a match in the join (one straddling two only sends the mapping
        the full way), and every sensitive key contains one of the screen's anchors."""
        texts = []
        for key, value in mapping.items():
            texts.append(key if isinstance(key, str) else str(key))
            if isinstance(value, str):
                texts.append(value)
            elif value is not None and not isinstance(value, _NUMBERS):
                return False
        return _plainly_safe("\n".join(texts), self._usable)

    def text(self, value: str) -> str:
        if _plainly_safe(value, self._usable):
            return value
        if self._values_pattern is not None:
            value = self._values_pattern.sub(REDACTED, value)
        if "://" in value:
            value = _URL_PASSWORD.sub(r"\g<head>" + REDACTED + "@", value)
        # Cheap screen first: the full key=value pattern backtracks, and most strings on the
        # hot path (ids, routes, messages) name no sensitive key at all.
        if _KEY_SCREEN.search(value) is None:
            return value
        return _hide_key_values(value)

    def _mapping(self, mapping: Mapping[Any, Any]) -> dict[Any, Any]:
        keys, out = self._keys, {}
        for key, value in mapping.items():
            # Inlined cache lookup: a line's keys are nearly always str and already seen.
            known = keys.get(key) if type(key) is str else None
            shown, hidden = known if known is not None else self._key(key)
            out[shown] = REDACTED if hidden else self.redact(value)
        return out

    def _key(self, key: Any) -> tuple[Any, bool]:
        """`key` as logged (screened like any text: a key can hold a secret too), and whether
        the value under it is hidden."""
        if key is None or isinstance(key, _NUMBERS):
            return key, False
        text = key if isinstance(key, str) else str(key)
        verdict = (self.text(text), is_sensitive_key(text))
        if type(key) is str:
            if len(self._keys) >= _KEY_CACHE_SIZE:
                self._keys.clear()
            self._keys[key] = verdict
        return verdict

    def _sensitive_pair(self, value: list[Any] | tuple[Any, ...]) -> bool:
        """A header as frameworks list them, (name, value): hidden by its name like a mapping's
        value, since a signature or bearer token is no value the redactor knows."""
        if len(value) != 2 or self._pairs_missed:
            return False
        name = value[0]
        if isinstance(name, bytes | bytearray):
            name = name.decode("utf-8", errors="replace")
        return isinstance(name, str) and is_sensitive_key(name)

    def redact(self, value: Any) -> Any:
        """A redacted copy of `value`; containers are rebuilt, the input is never mutated."""
        if isinstance(value, str):
            return self.text(value)
        if type(value) is dict and self._flat_and_safe(value):
            return dict(value)  # a log line's usual fields: one screen for all of them
        if isinstance(value, Mapping):
            return self._mapping(value)
        if isinstance(value, list | tuple) and self._sensitive_pair(value):
            return [self.redact(value[0]), REDACTED]  # ("Authorization", "Bearer ...")
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact(item) for item in value]
        if isinstance(value, bytes | bytearray):
            return self.text(value.decode("utf-8", errors="replace"))
        if value is None or isinstance(value, _NUMBERS):
            return value
        # Anything else is logged as its text (a UUID, a datetime, an exception), screened first.
        return self.text(str(value))
