"""Structured JSON logging: one object per line on stdout.

Business code calls `get_logger(__name__).info("message", resource_id=...)`; the request context
(request_id, trace_id, tenant_id, user_id, route) is added from contextvars, and every line goes
through the redactor last, so nothing a caller passes can bypass it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from fake_services import defects
from fake_services.observability.context import current
from fake_services.observability.json_lines import encode
from fake_services.observability.redaction import Redactor

# The spec names WARN, not Python's WARNING; CRITICAL is folded into ERROR.
LEVEL_NAMES = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARN",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "ERROR",
}

_FIELDS_ATTR = "wrk_fields"
_NOISY_LIBRARIES = ("httpx", "httpcore")
_UNREDACTED = ("timestamp", "level", "service")


class _SecondText:
    """The last second formatted, with its text: lines come many to a second. One tuple, so
    threads never pair a second with another second's text."""

    last: tuple[int, str] = (-1, "")


def rfc3339_utc(epoch_s: float) -> str:
    """RFC3339 in UTC with millisecond precision, e.g. 2024-05-01T12:00:00.123Z."""
    whole = int(epoch_s)
    millis = int((epoch_s - whole) * 1000)
    second, text = _SecondText.last
    if second != whole:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _SecondText.last = (whole, text)
    return f"{text}.{millis:03d}Z"


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str, redactor: Redactor) -> None:
        super().__init__()
        self.service = service
        self.redactor = redactor
        self._drop_tenant = defects.active(defects.Defect.DROP_LOG_FIELD)

    def format(self, record: logging.LogRecord) -> str:
        exc_type, exception = None, None
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, exception = record.exc_info[0], self.formatException(record.exc_info)
        return self.render(
            record.created,
            LEVEL_NAMES.get(record.levelno, record.levelname),
            record.getMessage(),
            record.name,
            fields=getattr(record, _FIELDS_ATTR, None),
            exc_type=exc_type,
            exception=exception,
        )

    def render(
        self,
        created: float,
        level: str,
        message: str,
        logger: str,
        *,
        fields: Mapping[str, Any] | None,
        exc_type: type[BaseException] | None = None,
        exception: str | None = None,
    ) -> str:
        doc: dict[str, Any] = {
            "timestamp": rfc3339_utc(created),
            "level": level,
            "service": self.service,
            "message": message,
            "logger": logger,
        }
        ctx = current()
        if ctx is not None:
            doc.update(ctx.log_fields())
        if fields:
            doc.update(fields)
        if exc_type is not None:
            doc["error_type"] = exc_type.__name__
            doc["exception"] = exception
        if self._drop_tenant:
            doc.pop("tenant_id", None)
        return encode(self._redacted(doc))

    def _redacted(self, doc: dict[str, Any]) -> dict[str, Any]:
        safe = {k: doc.pop(k) for k in _UNREDACTED}
        return {**safe, **self.redactor.redact(doc)}


class StructuredLogger:
    """Keyword fields instead of `extra=`; the single logging call site for business code."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def debug(self, message: str, **fields: Any) -> None:
        self._log(logging.DEBUG, message, fields)

    def info(self, message: str, **fields: Any) -> None:
        self._log(logging.INFO, message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._log(logging.WARNING, message, fields)

    def error(self, message: str, *, exc_info: bool = False, **fields: Any) -> None:
        self._log(logging.ERROR, message, fields, exc_info=exc_info)

    def exception(self, message: str, **fields: Any) -> None:
        self._log(logging.ERROR, message, fields, exc_info=True)

    def log(self, level: int, message: str, **fields: Any) -> None:
        self._log(level, message, fields)

    def _log(
        self, level: int, message: str, fields: Mapping[str, Any], *, exc_info: bool = False
    ) -> None:
        logger = self._logger
        if not logger.isEnabledFor(level):
            return
        kept = {k: v for k, v in fields.items() if v is not None}
        handler = None if exc_info else _sole_handler(logger, level)
        if handler is not None and handler.write(level, message, logger.name, kept):
            return
        logger.log(level, message, extra={_FIELDS_ATTR: kept}, exc_info=exc_info, stacklevel=3)


class JsonHandler(logging.StreamHandler[TextIO]):
    """The one handler of the root logger; `write` is the direct path that skips LogRecord."""

    def write(self, level: int, message: str, logger: str, fields: Mapping[str, Any]) -> bool:
        """Format and write one line as `emit` would; False (nothing written) on any failure,
        so the caller can go the standard way, which reports errors as logging does."""
        formatter = self.formatter
        if not isinstance(formatter, JsonFormatter):
            return False
        try:
            name = LEVEL_NAMES.get(level) or logging.getLevelName(level)
            line = formatter.render(time.time(), name, str(message), logger, fields=fields)
            with self.lock:  # type: ignore[union-attr]
                self.stream.write(line + self.terminator)
                self.stream.flush()  # as flush() does, without taking the lock again
        except Exception:
            return False
        return True


def _sole_handler(logger: logging.Logger, level: int) -> JsonHandler | None:
    """Our JSON handler when it is the only thing a record from `logger` would reach (no other
    handler or filter on the way, e.g. a test's capture): only then is the direct path exact."""
    if logger.disabled:
        return None
    node: logging.Logger | None = logger
    while node is not None and node.parent is not None:  # every logger but the root
        if node.handlers or node.filters or not node.propagate:
            return None
        node = node.parent
    root = logging.root
    if len(root.handlers) != 1 or root.filters:
        return None
    handler = root.handlers[0]
    if not isinstance(handler, JsonHandler) or handler.filters or level < handler.level:
        return None
    return handler


def get_logger(name: str) -> StructuredLogger:
    return StructuredLogger(logging.getLogger(name))


def configure_logging(
    service: str, redactor: Redactor, level: str = "INFO", stream: TextIO | None = None
) -> logging.Handler:
    """Route every logger (ours, uvicorn's, libraries') through one JSON handler on stdout.

    Calling it again replaces the handler, which is how a service adds its own secrets to the
    redactor once its settings are parsed.
    """
    handler = JsonHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(JsonFormatter(service, redactor))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # The HTTP client logs every call at INFO: duplicate of our access log, and costly per hop.
    for noisy in _NOISY_LIBRARIES:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler


def write_unredacted(service: str, message: str, **fields: Any) -> None:
    """One INFO line straight to stdout, past the redactor: the log_secret defect's leak
    (fake_services.defects), which only core calls, and only with that defect on."""
    doc: dict[str, Any] = {
        "timestamp": rfc3339_utc(time.time()),
        "level": "INFO",
        "service": service,
        "message": message,
        "logger": "fake_services.defects",
    }
    ctx = current()
    if ctx is not None:
        doc.update(ctx.log_fields())
    doc.update(fields)
    # The root logger's handlers share stdout: flush theirs first so lines never interleave.
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.write(json.dumps(doc, default=str, separators=(",", ":")) + "\n")
    sys.stdout.flush()
