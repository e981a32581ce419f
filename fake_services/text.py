"""String types for anything that reaches Postgres or a log line from outside.

Postgres `text` cannot hold NUL, and a lone UTF-16 surrogate (valid in JSON, "\\ud800") cannot
be encoded at all: both would surface as a driver error, i.e. a 500. They are rejected at the
edge of the model instead, as a 422 like any other invalid field.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


# Free text a user typed: names, titles, notes.
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_storable)]
Notes = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(_storable)]

# Identifiers chosen by other systems (tenants, events, automations on the platform side).
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")]
