"""The cheap paths of logging give exactly what the full ones give.

A log line written straight by the JSON handler equals the line of the standard logging path,
and redaction's screens (one for a whole flat mapping, plain substring tests) never let through
what the key=value and secret-value patterns would have replaced.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import given
from hypothesis import strategies as st

from fake_services.observability import Redactor, configure_logging, context, get_logger
from fake_services.observability.logs import JsonHandler, _sole_handler
from fake_services.observability.redaction import (
    _KEY_IN_TEXT,
    MIN_SECRET_LENGTH,
    REDACTED,
    _quote_like,
)

SECRETS = frozenset({"sk-live-4242", "hunter2hunter2"})

FRAGMENTS = st.sampled_from(
    [
        "password=abc", "Token: xyz", "Authorization: Bearer q.w.e", "api-key=k", "ApiKey:1",
        "\u017fecret=s1", "PRIVATE_KEY='pk'", "cookie", "ok", "tenant-1", "/v1/automations", " ",
        "sk-live-4242", "hunter2hunter2", "é", "\u212a", '"signature": "sig"', ",", "=", "\n",
    ]
)  # fmt: skip
TEXTS = st.lists(FRAGMENTS | st.text(max_size=8), max_size=6).map("".join)
FLAT = st.dictionaries(
    st.sampled_from(["message", "route", "detail", "note", "count", "token", "x-api-key"]),
    TEXTS | st.integers() | st.none() | st.booleans(),
    max_size=5,
)


def reference_text(value: str) -> str:
    """Redaction of a string by the patterns alone, with no screen in front of them."""
    usable = sorted((s for s in SECRETS if len(s) >= MIN_SECRET_LENGTH), key=len)
    values = re.compile("|".join(re.escape(s) for s in reversed(usable)))
    value = values.sub(REDACTED, value)
    return _KEY_IN_TEXT.sub(lambda m: m["key"] + _quote_like(m["value"]), value)


@given(TEXTS)
def test_string_screen_agrees_with_the_patterns(text: str) -> None:
    assert Redactor(SECRETS).text(text) == reference_text(text)


@given(FLAT)
def test_flat_mapping_screen_agrees_with_field_by_field_redaction(doc: dict[str, object]) -> None:
    redactor = Redactor(SECRETS)
    expected = {
        k: REDACTED
        if k in ("token", "x-api-key")
        else (reference_text(v) if isinstance(v, str) else v)
        for k, v in doc.items()
    }
    assert redactor.redact(doc) == expected


def test_a_secret_split_across_two_fields_is_still_caught_in_each() -> None:
    doc = {"a": "xx sk-live-4242", "b": "password=p"}
    assert Redactor(SECRETS).redact(doc) == {"a": f"xx {REDACTED}", "b": f"password={REDACTED}"}


@contextmanager
def only_json_handler() -> Iterator[io.StringIO]:
    """The root logger as a service has it: our JSON handler and nothing else (entered inside
    the test: pytest adds its capture handlers to the root at each phase)."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    for handler in saved:
        root.removeHandler(handler)
    stream = io.StringIO()
    configure_logging("svc", Redactor(SECRETS), stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved:
        root.addHandler(handler)
    root.setLevel(level)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_direct_line_equals_the_standard_line() -> None:
    log_name = "fake_services.tests.direct"
    log = get_logger(log_name)
    ctx = context.RequestContext(request_id="req-00000001", tenant_id="t1", route="/v1/x")
    other = _Records()
    with only_json_handler() as stream, context.bound(ctx):
        assert _sole_handler(logging.getLogger(log_name), logging.INFO)
        log.warning("done", status=404, token="sk-live-4242", detail="password=p", skip=None)
        logging.getLogger().addHandler(other)  # a second handler: the standard path again
        try:
            assert (
                _sole_handler(logging.getLogger("fake_services.tests.direct"), logging.INFO) is None
            )
            log.warning("done", status=404, token="sk-live-4242", detail="password=p", skip=None)
        finally:
            logging.getLogger().removeHandler(other)
    direct, standard = (json.loads(line) for line in stream.getvalue().splitlines())
    assert len(other.records) == 1, "the second line must have gone through logging"
    direct.pop("timestamp")
    standard.pop("timestamp")
    assert direct == standard
    assert direct["level"] == "WARN"
    assert direct["token"] == REDACTED
    assert direct["detail"] == f"password={REDACTED}"
    assert "skip" not in direct


def test_a_logger_with_its_own_handler_takes_the_standard_path() -> None:
    name = "fake_services.tests.own_handler"
    own = _Records()
    logging.getLogger(name).addHandler(own)
    try:
        with only_json_handler() as stream:
            assert _sole_handler(logging.getLogger(name), logging.INFO) is None
            get_logger(name).info("hello")
    finally:
        logging.getLogger(name).removeHandler(own)
    assert len(own.records) == 1
    assert json.loads(stream.getvalue())["message"] == "hello"


def test_the_root_handler_is_the_direct_writer() -> None:
    with only_json_handler():
        handlers = logging.getLogger().handlers
        assert len(handlers) == 1
        assert isinstance(handlers[0], JsonHandler)
