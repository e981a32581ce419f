"""Typed readers for the environment-variable contract with whoever starts a service.

Services call these once, at startup, from an explicit mapping (never at import time), and a
bad or missing variable becomes a ConfigError that names the variable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A missing or malformed environment variable; the message names it."""


def require(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is required")
    return value


def optional(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name, "").strip() or default


def positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be > 0, got {raw!r}")
    return value


def port(env: Mapping[str, str], name: str = "WRK_PORT") -> int:
    raw = require(env, name)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"{name} must be a TCP port (1-65535), got {raw!r}")
    return int(raw)


def json_value(env: Mapping[str, str], name: str) -> Any:
    raw = require(env, name)
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        # The position only: the value may hold secrets.
        raise ConfigError(f"{name} is not valid JSON (at character {exc.pos})") from None


def http_url(env: Mapping[str, str], name: str) -> str:
    value = require(env, name)
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def url_password(url: str) -> frozenset[str]:
    """The password inside a URL (redis://:pw@host), as a secret to redact; none if absent."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return frozenset()
    return frozenset({password} if password else ())


def flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")


def positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {raw!r}")
    return int(raw)


def non_negative_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must be >= 0, got {raw!r}")
    return value
