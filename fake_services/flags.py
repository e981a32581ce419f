"""Feature flags: runtime levers for incident mitigation (spec §6.2 "feature flag off").

The table `feature_flags` is the truth; each process keeps a copy refreshed about once a second
(core's and the workers' gauge loops), so checking a flag on the hot path costs a dict lookup,
and a change made through one core replica reaches every process within a refresh interval.
The process that handles the change applies it at once.
"""

from __future__ import annotations

from enum import StrEnum

from fake_services.db import Database
from fake_services.observability import get_logger
from fake_services.observability.domain_metrics import FeatureFlagMetrics

TABLE = "feature_flags"

_log = get_logger(__name__)


class Flag(StrEnum):
    # Off: core and the build worker stop calling the WRK Platform (see core.platform_client).
    WRK_PLATFORM_CALLS = "wrk_platform_calls"
    # Off: new versions are not sent for AI ingestion; queued ingestion jobs wait.
    AI_INGESTION = "ai_ingestion"


DEFAULTS: dict[Flag, bool] = {Flag.WRK_PLATFORM_CALLS: True, Flag.AI_INGESTION: True}


class FeatureFlags:
    def __init__(self, db: Database, metrics: FeatureFlagMetrics | None = None) -> None:
        self._db = db
        self._metrics = metrics
        self._state: dict[Flag, bool] = dict(DEFAULTS)
        self._publish()

    def enabled(self, flag: Flag) -> bool:
        return self._state[flag]

    def snapshot(self) -> dict[Flag, bool]:
        return dict(self._state)

    async def refresh(self) -> None:
        async with self._db.query("select", TABLE) as conn:
            records = await conn.fetch(f"SELECT flag, enabled FROM {TABLE}")
        stored = {r["flag"]: bool(r["enabled"]) for r in records}
        self._state = {flag: stored.get(flag, default) for flag, default in DEFAULTS.items()}
        self._publish()

    async def set(self, flag: Flag, enabled: bool, updated_by: str | None) -> None:
        async with self._db.query("upsert", TABLE) as conn:
            await conn.execute(
                f"INSERT INTO {TABLE} (flag, enabled, updated_by) VALUES ($1, $2, $3)"
                " ON CONFLICT (flag) DO UPDATE SET enabled = EXCLUDED.enabled,"
                " updated_by = EXCLUDED.updated_by, updated_at = now()",
                flag.value,
                enabled,
                updated_by,
            )
        previous = self._state[flag]
        self._state[flag] = enabled
        self._publish()
        # WARN: flipping a lever is an operational event someone will look for in a timeline.
        _log.warning("feature flag changed", flag=flag.value, enabled=enabled, previously=previous)

    def _publish(self) -> None:
        if self._metrics is not None:
            self._metrics.set({flag.value: on for flag, on in self._state.items()})
