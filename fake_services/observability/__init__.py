"""The only door business code uses for logging, metrics and tracing (spec §7).

Swapping a provider (another metrics backend, another trace exporter) happens here, never in
the services.
"""

from opentelemetry.trace import (
    Span,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    format_trace_id,
    get_current_span,
)
from prometheus_client import CollectorRegistry

from fake_services.observability.app import ServiceApp, create_service_app
from fake_services.observability.context import RequestContext, current
from fake_services.observability.errors import ErrorCode, ServiceError, error_body
from fake_services.observability.logs import (
    StructuredLogger,
    configure_logging,
    get_logger,
    write_unredacted,
)
from fake_services.observability.metrics import (
    LATENCY_BUCKETS,
    DbMetrics,
    HttpMetrics,
    PlatformCallMetrics,
)
from fake_services.observability.propagation import outgoing_headers
from fake_services.observability.redaction import Redactor
from fake_services.observability.responses import error_response
from fake_services.observability.telemetry import Telemetry, create_telemetry, span_file_from_env

# The provider types (OpenTelemetry's tracing API, the Prometheus registry) are re-exported so
# that business code imports them from here only (spec §7): swapping a provider touches this
# package alone (tests/fakes/test_observability_door.py keeps it so).
__all__ = [
    "LATENCY_BUCKETS",
    "CollectorRegistry",
    "DbMetrics",
    "ErrorCode",
    "HttpMetrics",
    "PlatformCallMetrics",
    "Redactor",
    "RequestContext",
    "ServiceApp",
    "ServiceError",
    "Span",
    "SpanKind",
    "Status",
    "StatusCode",
    "StructuredLogger",
    "Telemetry",
    "Tracer",
    "configure_logging",
    "create_service_app",
    "create_telemetry",
    "current",
    "error_body",
    "error_response",
    "format_trace_id",
    "get_current_span",
    "get_logger",
    "outgoing_headers",
    "span_file_from_env",
    "write_unredacted",
]
