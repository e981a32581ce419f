"""Deliberate defects, for proving a conformance suite can detect these defects; never set in
production.

WRK_DEFECTS is a comma-separated list of defect names (empty or unset: none). Every service
reads it once at startup (`configure`, called by `fake_services.server.run_service` before
anything else is built); an unknown name is a configuration error, so a typo cannot make a
detection test pass by injecting nothing. Each defect is applied at one narrow point:

  rename_metric              the API-layer counter `http_5xx_count` is exposed as
                             `http_5xx_errors_total` (observability.metrics.HttpMetrics)
  drop_log_field             log events no longer carry `tenant_id` (observability.logs)
  no_request_id_propagation  the edge stops forwarding X-Request-ID to core, which then mints
                             its own: edge → core correlation breaks (edge.forward)
  no_feature_flag_lever      core answers 404 to the feature-flag admin API, listing and
                             setting alike, as a build without that lever would
                             (core.flags_api)
  dead_letter_gauge_stuck    core exports dead_letter_queue_depth at 0 whatever the dead-letter
                             lists hold (queue.depth)
  queue_depth_unexported     core samples three queues: notifications has no queue_depth,
                             queue_in_flight or dead_letter_queue_depth series (queue.depth)
  queue_depth_wrong_key      core reads usage-aggregation's depth from `usage_aggregation` keys,
                             which nothing writes: exported, and always 0 (queue.depth)
  job_failures_uncounted     workers count failed and dead-lettered attempts as succeeded, so
                             worker_dead_letter_count never rises either
                             (observability.queue_metrics)
  platform_latency_untimed   WRK Platform calls are timed from the answer's arrival, not from the
                             request: an answered call, slow or not, lasts ~0 s
                             (core.platform_client)
  signature_failures_misfiled  the webhook counts every signature failure under reason
                             missing_signature (webhook.ingest)
  timeouts_misfiled          the webhook counts a database timeout under reason db_unavailable
                             (webhook.ingest)
  platform_errors_succeed    a WRK Platform call that got an answer counts as a success, an error
                             answer (5xx) too; refused or timed-out calls still fail
                             (core.platform_client)
  log_secret                 the edge passes the client's Authorization header on to core, and
                             core logs its raw value once per request at INFO, bypassing
                             redaction (edge.forward, core.app, observability.logs.write_unredacted)
  coarse_buckets             `http_request_duration_seconds` uses the client library's default
                             buckets, which lack the spec's 0.4, 0.6, 0.8 and 2 s edges
                             (observability.metrics.HttpMetrics)
  drop_route_label           `http_request_duration_seconds` is aggregated without its `route`
                             label, by method only (observability.metrics.HttpMetrics)
  log_secret_base64          the edge logs each client's API key base64-encoded as a "client
                             fingerprint", which a redactor of raw values cannot see (edge.app)
  log_signature_pair         the webhook logs each request's headers as (name, value) pairs, and
                             the redactor hides no pair (webhook.ingest, observability.redaction):
                             the HMAC signature header reaches the log
  usage_skips_tenant         the usage aggregation worker finishes the jobs of tenant-2 without
                             writing their aggregate (workers.usage)
  usage_no_write             the usage aggregation worker finishes every job without writing
                             the aggregate (workers.usage)
  usage_double_count         the usage aggregation worker adds the day's count to the aggregate
                             instead of replacing it: counts grow past the events (workers.usage)

Each is looked up when the object it changes is built (the metric families, the log
formatter, the edge's forwarder, core's routers), so `configure` runs before those; tests call
it around building an app, and `configure({})` restores a defect-free process.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from fake_services import env as envvars

ENV_VAR = "WRK_DEFECTS"


class Defect(StrEnum):
    RENAME_METRIC = "rename_metric"
    DROP_LOG_FIELD = "drop_log_field"
    NO_REQUEST_ID_PROPAGATION = "no_request_id_propagation"
    LOG_SECRET = "log_secret"
    NO_FEATURE_FLAG_LEVER = "no_feature_flag_lever"
    COARSE_BUCKETS = "coarse_buckets"
    DROP_ROUTE_LABEL = "drop_route_label"
    DEAD_LETTER_GAUGE_STUCK = "dead_letter_gauge_stuck"
    QUEUE_DEPTH_UNEXPORTED = "queue_depth_unexported"
    QUEUE_DEPTH_WRONG_KEY = "queue_depth_wrong_key"
    JOB_FAILURES_UNCOUNTED = "job_failures_uncounted"
    PLATFORM_LATENCY_UNTIMED = "platform_latency_untimed"
    SIGNATURE_FAILURES_MISFILED = "signature_failures_misfiled"
    TIMEOUTS_MISFILED = "timeouts_misfiled"
    PLATFORM_ERRORS_SUCCEED = "platform_errors_succeed"
    LOG_SECRET_BASE64 = "log_secret_base64"
    LOG_SIGNATURE_PAIR = "log_signature_pair"
    USAGE_SKIPS_TENANT = "usage_skips_tenant"
    USAGE_NO_WRITE = "usage_no_write"
    USAGE_DOUBLE_COUNT = "usage_double_count"


# This process's defects: set once at startup by `configure`, read where each one applies.
_active: set[Defect] = set()


def parse(raw: str) -> frozenset[Defect]:
    names = [name.strip().lower() for name in raw.split(",") if name.strip()]
    unknown = sorted(set(names) - {d.value for d in Defect})
    if unknown:
        known = ", ".join(d.value for d in Defect)
        raise envvars.ConfigError(f"{ENV_VAR} names unknown defect(s) {unknown}; known: {known}")
    return frozenset(Defect(name) for name in names)


def configure(env: Mapping[str, str]) -> frozenset[Defect]:
    """Read WRK_DEFECTS from `env` and make it this process's defect set (also resets it)."""
    defects = parse(env.get(ENV_VAR, ""))
    _active.clear()
    _active.update(defects)
    return defects


def active(defect: Defect) -> bool:
    return defect in _active


def enabled() -> frozenset[Defect]:
    return frozenset(_active)
