"""A temporary folder the `postgres` user can enter, removed afterwards.

Postgres runs as `postgres`, which cannot enter pytest's tmp_path (it sits below a 0700 folder),
so tests that start a stack make their folder here instead."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def open_tempdir(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True) as name:
        path = Path(name)
        path.chmod(0o755)
        yield path
