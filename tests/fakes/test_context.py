"""Request ids: a valid incoming id is kept, anything else is replaced."""

from __future__ import annotations

import multiprocessing

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


def test_generated_ids_are_32_hex_digits_and_distinct() -> None:
    values = {new_request_id() for _ in range(10_000)}
    assert len(values) == 10_000
    assert all(len(v) == 32 and int(v, 16) >= 0 for v in values)


def test_a_forked_child_mints_other_ids_than_its_parent() -> None:
    """Workers may be forked: a child must not repeat its parent's sequence of ids."""
    fork = multiprocessing.get_context("fork")
    receiving, sending = fork.Pipe(duplex=False)
    child = fork.Process(target=lambda: sending.send([new_request_id() for _ in range(5)]))
    child.start()
    from_child = receiving.recv()
    child.join(timeout=10)
    assert set(from_child).isdisjoint(new_request_id() for _ in range(5))


@given(st.text(max_size=200))
def test_whatever_comes_in_a_valid_id_goes_out(value: str) -> None:
    assert is_valid_request_id(accept_request_id(value))
