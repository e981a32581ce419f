"""Log and span lines: one line of ASCII each, holding what `json` would have written."""

from __future__ import annotations

import enum
import json

from hypothesis import given
from hypothesis import strategies as st

from fake_services.observability import json_lines

# What log fields and span attributes hold once redacted: any text (lone surrogates too), any
# integer or float (NaN and infinities too), nested lists and string-keyed objects.
LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
VALUES = st.recursive(
    LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=25,
)


def reference(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


@given(VALUES)
def test_one_ascii_line_that_reads_back_as_json_wrote_it(value: object) -> None:
    line = json_lines.encode(value)
    assert line.isascii()
    assert "\n" not in line
    # Equal once read back (text may differ in escapes `json` adds, e.g. for DEL).
    assert reference(json.loads(line)) == reference(value)


class Colour(enum.StrEnum):
    RED = "red"


def test_text_enums_tuples_and_other_objects() -> None:
    value = {"code": Colour.RED, "tuple": (1, "a"), "other": Exception("boom")}
    expected = '{"code":"red","tuple":[1,"a"],"other":"boom"}'
    assert json_lines.encode(value) == reference(value) == expected


def test_a_lone_surrogate_is_kept_escaped_not_lost() -> None:
    assert json_lines.encode({"m": "bad \ud800 text é"}) == '{"m":"bad \\ud800 text \\u00e9"}'
