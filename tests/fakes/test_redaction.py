"""No secret reaches a log line: by key, by configured value, in nested data and in exceptions."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from http import HTTPStatus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fake_services.observability import Redactor, get_logger, json_lines
from fake_services.observability.redaction import REDACTED, is_sensitive_key

from .conftest import CANARY, CapturedLogs

log = get_logger("tests.redaction")


@pytest.mark.parametrize(
    "key",
    ["password", "DB_PASSWORD", "client_secret", "accessToken", "Authorization",
     "X-Signature", "api_key", "x-api-key", "ApiKey", "credentials", "Cookie"],
)  # fmt: skip
def test_sensitive_keys_are_recognised(key: str) -> None:
    assert is_sensitive_key(key)


@pytest.mark.parametrize("key", ["name", "tenant_id", "route", "status", "resource_id"])
def test_ordinary_keys_are_kept(key: str) -> None:
    assert not is_sensitive_key(key)


def test_nested_sensitive_keys_are_redacted_at_every_level() -> None:
    data = {"a": {"b": [{"password": "p1"}, {"c": {"API-KEY": "k1"}}]}, "name": "kept"}
    assert Redactor().redact(data) == {
        "a": {"b": [{"password": REDACTED}, {"c": {"API-KEY": REDACTED}}]},
        "name": "kept",
    }


@pytest.mark.parametrize(
    "data",
    [{CANARY: 1}, {"a": [{f"x-{CANARY}-y": "v"}]}, {(CANARY, 1): "v"}, {"a": {"b": {CANARY: {}}}}],
)
def test_configured_values_are_redacted_from_mapping_keys(data: object) -> None:
    out = Redactor(frozenset({CANARY})).redact(data)
    assert CANARY not in json.dumps(out)
    assert REDACTED in json.dumps(out)


def test_a_key_holding_a_secret_is_screened_and_a_sensitive_key_keeps_its_name() -> None:
    out = Redactor(frozenset({CANARY})).redact({f"id-{CANARY}": [1], "password": "p", "n": 2})
    assert out == {f"id-{REDACTED}": [1], "password": REDACTED, "n": 2}


def test_redaction_does_not_mutate_its_input() -> None:
    data = {"token": "t"}
    Redactor().redact(data)
    assert data == {"token": "t"}


def test_configured_values_are_redacted_inside_any_string() -> None:
    redactor = Redactor.from_env({"WRK_REDACT_VALUES": f" {CANARY} ,other-secret"})
    assert redactor.text(f"before {CANARY} after other-secret") == (
        f"before {REDACTED} after {REDACTED}"
    )


def test_secrets_too_short_to_be_real_are_ignored() -> None:
    assert Redactor(frozenset({"ab"})).text("abc") == "abc"


@pytest.mark.parametrize(
    "text",
    [
        "login failed: password=hunter2 for user",
        "{'password': 'hunter2', 'user': 'u'}",
        '{"client_secret": "hunter2"}',
        "Authorization: Bearer hunter2",
        "api-key: hunter2; retrying",
        str({"Authorization": ["Bearer hunter2"]}),
        json.dumps({"Authorization": ["Bearer hunter2"]}),
        json.dumps({"password": {"old": "x", "new": ["hunter2"]}}),
        str({"password": ("x)", "hunter2")}),
        str([("accept", "*/*"), ("authorization", "Bearer hunter2")]),
        str([(b"authorization", b"Bearer hunter2")]),
        json.dumps([["x-api-key", "hunter2"]]),
        'client_secret="x\\"hunter2"',
        "password: ['never closed', 'hunter2'",
        # JSON inside a JSON string (a body quoted in an error message).
        json.dumps({"body": json.dumps({"password": "hunter2", "n": 1})}),
        json.dumps({"body": json.dumps({"token": "hunter2"})})[:-3],  # cut off
    ],
)
def test_key_value_pairs_in_free_text_are_redacted(text: str) -> None:
    out = Redactor().text(text)
    assert "hunter2" not in out
    assert REDACTED in out


def test_only_the_values_of_sensitive_pairs_are_redacted_from_text() -> None:
    headers = [("accept", "*/*"), ("authorization", "Bearer x"), ("x-request-id", "r1")]
    body = {"password": ["a", "b]"], "user": "u"}
    text = f"token bucket refilled after {headers} with {body}"
    assert Redactor().text(text) == (
        "token bucket refilled after [('accept', '*/*'), ('authorization', '[REDACTED]'),"
        " ('x-request-id', 'r1')] with {'password': [REDACTED], 'user': 'u'}"
    )


def test_escaped_json_keeps_its_shape_and_its_other_fields() -> None:
    text = json.dumps({"body": json.dumps({"token": "hunter2", "n": 1})})
    out = Redactor().text(text)
    assert json.loads(json.loads(out)["body"]) == {"token": REDACTED, "n": 1}


def test_canary_in_nested_log_fields_never_reaches_output(logs: CapturedLogs) -> None:
    log.info(
        "calling",
        request={"headers": {"Authorization": f"Bearer {CANARY}"}, "note": f"x{CANARY}x"},
        items=[{"deep": [CANARY]}],
    )
    assert CANARY not in logs.text()
    assert logs.lines()[0]["request"]["headers"]["Authorization"] == REDACTED


def test_canary_in_exception_text_never_reaches_output(logs: CapturedLogs) -> None:
    try:
        raise RuntimeError(f"connect failed: password={CANARY!r}, dsn=postgresql://u:{CANARY}@h/db")
    except RuntimeError:
        log.exception("failure")
    line = logs.lines()[0]
    assert CANARY not in logs.text()
    assert line["error_type"] == "RuntimeError"
    assert "Traceback" in line["exception"]


def test_debug_lines_are_redacted_like_any_other(logs: CapturedLogs) -> None:
    logging.getLogger().setLevel(logging.DEBUG)
    headers = [("authorization", "Bearer hunter2")]
    log.debug(
        "payload",
        body={"items": [{CANARY: "v"}]},
        error=RuntimeError(f"rejected {headers} for {CANARY}"),
        **{f"k-{CANARY}": 1},
    )
    try:
        raise ValueError(f"bad headers {headers}")
    except ValueError:
        logging.getLogger("third.party").debug("retrying", exc_info=True)
    assert [line["level"] for line in logs.lines()] == ["DEBUG", "DEBUG"]
    assert CANARY not in logs.text()
    assert "hunter2" not in logs.text()


def test_canary_in_message_arguments_never_reaches_output(logs: CapturedLogs) -> None:
    logging.getLogger("third.party").warning("value %s seen", CANARY)
    assert CANARY not in logs.text()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@given(data=_json, where=st.sampled_from(["value", "key"]))
def test_canary_never_survives_anywhere_in_arbitrary_data(data: object, where: str) -> None:
    planted = (
        {"wrapper": [data, f"..{CANARY}.."]}
        if where == "value"
        else {"wrapper": [data, {"secret_field": CANARY}]}
    )
    out = json.dumps(Redactor(frozenset({CANARY})).redact(planted), default=str)
    assert CANARY not in out


@given(data=_json, prefix=st.text(max_size=5), depth=st.integers(0, 3))
def test_canary_as_a_mapping_key_never_survives(data: object, prefix: str, depth: int) -> None:
    planted: object = {prefix + CANARY: data}
    for _ in range(depth):
        planted = {"wrapper": [data, planted]}
    out = json.dumps(Redactor(frozenset({CANARY})).redact(planted), default=str)
    assert CANARY not in out


# A sensitive pair as code prints it: a dict, a dict of lists, a header list of tuples.
_PAIR_FORMS: dict[str, Callable[[str, str], object]] = {
    "dict": lambda key, value: {key: value},
    "dict_of_list": lambda key, value: {key: [value]},
    "pairs": lambda key, value: [("accept", "*/*"), (key, value)],
}


@given(
    data=_json,
    key=st.sampled_from(["Authorization", "password", "X-Api-Key", "client_secret"]),
    form=st.sampled_from(sorted(_PAIR_FORMS)),
    render=st.sampled_from([repr, json.dumps]),
    scheme=st.sampled_from(["", "Bearer "]),
)
def test_sensitive_pairs_printed_in_text_never_show_their_value(
    data: object, key: str, form: str, render: Callable[[object], str], scheme: str
) -> None:
    # The redactor is not told the canary: the key alone must hide it.
    text = render({"wrapper": [data, _PAIR_FORMS[form](key, scheme + CANARY)]})
    assert CANARY not in Redactor().text(text)


class _Holder:
    """An object a caller might log as a field: it is logged as its text."""

    def __str__(self) -> str:
        return f"holder of {CANARY}"


def test_objects_logged_as_text_are_screened_like_text() -> None:
    token = uuid.uuid4()
    out = Redactor(frozenset({CANARY})).redact({"thing": _Holder(), "id": token, "n": [_Holder()]})
    screened = f"holder of {REDACTED}"
    assert out == {"thing": screened, "id": str(token), "n": [screened]}


def test_numbers_stay_numbers_int_enums_included() -> None:
    doc = {"status": HTTPStatus.NOT_FOUND, "ok": True, "ms": 1.5, "none": None}
    out = Redactor(frozenset({CANARY})).redact(doc)
    assert out == doc
    assert json_lines.encode(out) == '{"status":404,"ok":true,"ms":1.5,"none":null}'


_URL_TEXT = st.text(alphabet=st.sampled_from("abcXYZ09-._~%"), min_size=0, max_size=8)


@given(
    scheme=st.sampled_from(["postgresql", "redis", "amqp", "http", "git+ssh"]),
    user=_URL_TEXT,
    host=st.sampled_from(["db", "127.0.0.1:5432", "[::1]:6379"]),
    before=st.sampled_from(["", "connect failed: ", "dsn='", '{"url": "']),
    after=st.sampled_from(["", "/wrk", "/0?timeout=5", "' refused", '"}']),
)
def test_a_url_password_never_shows_even_unconfigured(
    scheme: str, user: str, host: str, before: str, after: str
) -> None:
    text = f"{before}{scheme}://{user}:{CANARY}@{host}{after}"
    redacted = Redactor().text(text)
    assert CANARY not in redacted
    assert redacted == f"{before}{scheme}://{user}:{REDACTED}@{host}{after}"  # the rest is kept


@pytest.mark.parametrize(
    "text",
    [
        "http://core:8080/v1/automations?owner=a@b.example",  # a port, then an @ in the query
        "git+ssh://git@example.com/repo",  # a user without a password
        "mailto:someone@example.com",
        "redis://127.0.0.1:6379/0",
    ],
)
def test_urls_without_a_password_are_kept(text: str) -> None:
    assert Redactor().text(text) == text


_SENSITIVE_HEADERS = st.sampled_from(
    ["Authorization", "authorization", "X-WRK-Signature", "x-api-key", "Cookie",
     "Proxy-Authorization", "X-Client-Secret", "x-auth-token"]
)  # fmt: skip
_ORDINARY_HEADERS = st.sampled_from(["accept", "content-type", "x-request-id", "user-agent"])
_HEADER_VALUES = st.text(min_size=6, max_size=40).filter(lambda v: v.strip() != "")


@given(
    name=_SENSITIVE_HEADERS,
    value=_HEADER_VALUES,
    others=st.lists(st.tuples(_ORDINARY_HEADERS, st.text(max_size=20)), max_size=4),
    as_bytes=st.booleans(),
    container=st.sampled_from([list, tuple]),
    position=st.integers(min_value=0, max_value=4),
)
def test_a_sensitive_header_logged_as_a_name_value_pair_is_hidden(
    *,
    name: str,
    value: str,
    others: list[tuple[str, str]],
    as_bytes: bool,
    container: type,
    position: int,
) -> None:
    """Frameworks list headers as (name, value) pairs; a signature or token in one is no value
    the redactor was told, so the pair's name alone must hide it, however the list is built."""
    pair: tuple[object, object] = (name.encode(), value.encode()) if as_bytes else (name, value)
    headers = list(others)
    headers.insert(min(position, len(headers)), pair)  # type: ignore[arg-type]
    logged = Redactor().redact({"headers": container(container(p) for p in headers)})
    hidden = [p for p in logged["headers"] if p[0].lower() == name.lower()]
    assert hidden == [[name, REDACTED]]
    kept = [p for p in logged["headers"] if p[0].lower() != name.lower()]
    assert kept == [[n, Redactor().text(v)] for n, v in others]
