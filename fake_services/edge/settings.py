"""Edge configuration from the environment (read once, at startup)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from fake_services import env as envvars
from fake_services.text import Identifier


class ApiKey(BaseModel, frozen=True):
    """What an API key grants: whose requests these are, and which APIs they may call."""

    # An identifier, as everywhere a tenant is named: it travels in X-Tenant-ID, and the
    # rate-limit lever's per-tenant overrides must be able to name it.
    tenant_id: Identifier
    user_id: str = Field(min_length=1)
    scopes: frozenset[str] = frozenset()


_API_KEYS = TypeAdapter(dict[str, ApiKey])


def _parse_api_keys(raw: object) -> dict[str, ApiKey]:
    try:
        keys = _API_KEYS.validate_python(raw)
    except ValidationError as exc:
        # Report field and reason but never the location's first element: it is the key itself.
        reasons = sorted(
            {f"{'.'.join(map(str, e['loc'][1:])) or 'entry'}: {e['msg']}" for e in exc.errors()}
        )
        raise envvars.ConfigError(f"WRK_API_KEYS is invalid ({'; '.join(reasons)})") from None
    if not keys:
        raise envvars.ConfigError("WRK_API_KEYS must define at least one key")
    return keys


def _rate_limit(env: Mapping[str, str]) -> float | None:
    value = envvars.non_negative_float(env, "WRK_RATE_LIMIT_RPS", 0.0)
    return value or None  # 0 (the default) means no limit


@dataclass(frozen=True)
class EdgeSettings:
    core_url: str
    core_timeout_s: float
    api_keys: Mapping[str, ApiKey]
    # Believe X-Forwarded-For for the client address (behind a proxy, or a load test that
    # simulates many source IPs on loopback); never on a directly exposed edge.
    trust_forwarded: bool = False
    rate_limit_rps: float | None = None
    auth_failure_sources_max: int = 1000

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EdgeSettings:
        return cls(
            core_url=envvars.http_url(env, "WRK_CORE_URL"),
            # Longer than core's own dependency timeouts, so core's 504s reach the client.
            core_timeout_s=envvars.positive_float(env, "WRK_CORE_TIMEOUT_S", 10.0),
            api_keys=_parse_api_keys(envvars.json_value(env, "WRK_API_KEYS")),
            trust_forwarded=envvars.flag(env, "WRK_TRUST_FORWARDED"),
            rate_limit_rps=_rate_limit(env),
            auth_failure_sources_max=envvars.positive_int(
                env, "WRK_AUTH_FAILURE_SOURCES_MAX", 1000
            ),
        )

    def secrets(self) -> frozenset[str]:
        return frozenset(self.api_keys)
