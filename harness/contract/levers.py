"""Admin levers (levers.yaml in the catalogue): what a build must serve for mitigations.

Optional in a catalogue: without the file, no lever is part of the contract.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

from pydantic import Field

from harness.errors import ConfigError
from harness.spec.faults import HttpCallSpec, HttpMethod
from harness.spec.fields import SpecRef, StrictModel
from harness.spec.files import load_model

LEVERS_FILE = "levers.yaml"
_PARAM = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


class Endpoint(StrictModel):
    method: HttpMethod
    path: str = Field(pattern=r"^/")
    body: str | None = None
    """An example JSON body, as text (documentation only)."""

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        parts = _PARAM.split(self.path)
        return re.compile("[^/]+".join(re.escape(p) for p in parts))

    def matches(self, method: str, path: str) -> bool:
        """`path` (a concrete path, or a template with the same parameters) is this one."""
        return method == self.method.value and (
            path == self.path or self._pattern.fullmatch(path) is not None
        )


class Listing(StrictModel):
    """The read's JSON holds `items`, a list whose entries name `names` in `field`."""

    items: str = "items"
    field: str
    names: tuple[str, ...] = Field(min_length=1)


class Lever(StrictModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    spec_ref: SpecRef
    description: str = Field(min_length=1)
    service: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    auth: bool = False
    read: Endpoint
    write: Endpoint
    lists: Listing | None = None

    def used_by(self, call: HttpCallSpec) -> bool:
        """The scenario call turns this lever."""
        return call.service == self.service and self.write.matches(call.method.value, call.path)


class LeversFile(StrictModel):
    levers: tuple[Lever, ...] = ()


def load_levers(catalog_dir: Path) -> tuple[Lever, ...]:
    """The catalogue's levers (none without levers.yaml); ConfigError with every problem."""
    path = catalog_dir / LEVERS_FILE
    if not path.exists():
        return ()
    found, problems = load_model(LeversFile, path)
    if found is None or problems:
        raise ConfigError(problems)
    return found.levers
