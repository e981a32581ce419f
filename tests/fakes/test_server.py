"""The process bootstrap's heap settling: what start-up built is out of the collector's reach."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from fake_services.server import freeze_start_up_heap


class _Node:
    link: object = None


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the test process goes on collecting as before


@pytest.mark.usefixtures("unfrozen")
def test_start_up_objects_are_frozen_and_start_up_garbage_is_collected_first() -> None:
    kept = _Node()
    garbage = _Node()
    garbage.link = garbage  # a cycle only the collector frees
    gone = weakref.ref(garbage)
    del garbage
    freeze_start_up_heap()
    assert all(o is not kept for o in gc.get_objects())  # frozen: in no generation
    assert gone() is None  # collected, not frozen for good
