"""Request ids: a valid incoming id is kept, anything else is replaced."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fake_services.observability.context import (
    accept_request_id,
    is_valid_request_id,
    new_request_id,
)


@pytest.mark.parametrize(
    "value", ["abcdefgh", "a" * 128, "req-1.2_3-XYZ", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"]
)
def test_valid_ids_are_kept(value: str) -> None:
    assert is_valid_request_id(value)
    assert accept_request_id(value) == value


@pytest.mark.parametrize(
    "value",
    [None, "", "short", "a" * 129, "has space12", "semi;colon1", "newline\n123", "ünïcode12"],
)
def test_invalid_ids_are_replaced(value: str | None) -> None:
    assert not is_valid_request_id(value)
    replaced = accept_request_id(value)
    assert replaced != value
    assert is_valid_request_id(replaced)


def test_generated_ids_are_uuid4_hex() -> None:
    value = new_request_id()
    assert len(value) == 32
    assert int(value, 16) >= 0


@given(st.text(max_size=200))
def test_whatever_comes_in_a_valid_id_goes_out(value: str) -> None:
    assert is_valid_request_id(accept_request_id(value))
