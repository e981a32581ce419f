"""The one YAML loader for every file the harness reads, with limits checked while it parses.

YAML can describe far more than its text: an alias is a reference, so nine levels of ten
aliases each expand to a billion values from a file of 1 KB (an "alias bomb"), and a mapping
nested 5000 deep overflows the recursion of every recursive reader after it. The loader counts
while it composes, before anything is constructed or validated, and stops at the first limit
reached, with its line and column:

- nesting depth, counting what aliases bring in (the deepest shipped file nests 9 levels);
- aliases per file;
- values per file once every alias is expanded (the largest shipped file has 1,315);
- an alias inside the node it names (a recursive structure: it would expand forever).

The scanner refuses deep flow (`[[[[`) and block nesting as it reads it: PyYAML looks ahead
over a whole flow collection before handing out its first event, and that lookahead grows with
the depth. Each check costs O(1) per token or node. The file's size is bounded by its reader
(`harness.spec.files`). The loader also records duplicate mapping keys: PyYAML silently keeps
the last one, which would hide a typo such as two `for:` keys.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Final

import yaml

MAX_DEPTH: Final = 32
MAX_ALIASES: Final = 100
MAX_VALUES: Final = 10_000  # PyYAML composes about 20,000 values a second on 2 cores
_MERGE: Final = "tag:yaml.org,2002:merge"
_TOO_DEEP: Final = f"nested deeper than {MAX_DEPTH} levels, the most allowed"


class InputLimitExceeded(yaml.MarkedYAMLError):
    """A file goes past one of the loader's limits; `problem_mark` says where."""


class LimitedLoader(yaml.SafeLoader):
    """SafeLoader that enforces the limits above and records duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[object, int]] = []
        self._depth = 0
        self._deepest = 0  # the deepest level reached inside the node being composed
        self._aliases = 0
        self._values = 0
        # Composed nodes by id: (values it expands to, levels it spans). A node still being
        # composed is absent, which is how an alias to an enclosing node is recognised.
        self._composed: dict[int, tuple[int, int]] = {}

    # -- the scanner: nesting is refused as it is read, before any lookahead piles up ----------

    def fetch_flow_collection_start(self, token_class: type[yaml.Token]) -> None:
        if self.flow_level >= MAX_DEPTH:
            raise _exceeded(self.get_mark(), _TOO_DEEP)
        super().fetch_flow_collection_start(token_class)

    def add_indent(self, column: int) -> bool:
        if len(self.indents) >= MAX_DEPTH:
            raise _exceeded(self.get_mark(), _TOO_DEEP)
        return super().add_indent(column)

    # -- the composer: depth, aliases and values as the document is built ---------------------

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            return self._compose_alias(parent, index)
        mark = self._next_mark()
        depth = self._depth = self._depth + 1
        if depth > MAX_DEPTH:
            raise _exceeded(mark, _TOO_DEEP)
        values_before, deepest_outside = self._values, self._deepest
        self._deepest = depth
        node = super().compose_node(parent, index)
        self._count_values(1, mark)
        self._composed[id(node)] = (self._values - values_before, self._deepest - depth + 1)
        self._depth -= 1
        self._deepest = max(deepest_outside, self._deepest)
        return node

    def _compose_alias(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        mark = self._next_mark()
        self._aliases += 1
        if self._aliases > MAX_ALIASES:
            raise _exceeded(mark, f"more than {MAX_ALIASES} aliases, the most allowed")
        node = super().compose_node(parent, index)  # raises if undefined
        composed = self._composed.get(id(node))
        if composed is None:
            raise _exceeded(mark, "an alias inside the node it refers to (it would never end)")
        values, levels = composed
        self._count_values(values, mark)
        if self._depth + levels > MAX_DEPTH:
            reason = f"the alias nests deeper than {MAX_DEPTH} levels, the most allowed"
            raise _exceeded(mark, reason)
        self._deepest = max(self._deepest, self._depth + levels)
        return node

    def _next_mark(self) -> yaml.Mark:
        mark: yaml.Mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        return mark

    def _count_values(self, count: int, mark: yaml.Mark) -> None:
        self._values += count
        if self._values > MAX_VALUES:
            reason = f"more than {MAX_VALUES} values once aliases are expanded, the most allowed"
            raise _exceeded(mark, reason)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:  # `<<: *base`: its keys may be overridden here
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                self.duplicates.append((key, key_node.start_mark.line + 1))
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _exceeded(mark: yaml.Mark, reason: str) -> InputLimitExceeded:
    return InputLimitExceeded(problem=reason, problem_mark=mark)
