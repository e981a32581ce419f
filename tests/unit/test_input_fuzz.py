"""Generated scenario and catalogue documents, valid and mutated (wrong types; huge, NaN,
infinite and negative numbers; unknown keys; deep nesting; aliases; odd unicode): `wrkh
validate` exits 0, or 2 with one `file: field: reason` line per problem; never a traceback,
and each document within a CPU second and 200 MB (tracemalloc's peak).

The catalogue is a small one cut from the real files, so an example costs milliseconds.
"""

from __future__ import annotations

import contextlib
import copy
import io
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from harness.cli import main

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "scenarios" / "catalog"
MAX_CPU_S = 1.0
MAX_PEAK_BYTES = 200e6
EXAMPLES = settings(
    max_examples=30,
    deadline=None,  # measured below, in CPU time: the machine is shared
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
    # A failure is printed as generated: shrinking these documents can take minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)

Doc = Any  # a YAML document: dicts, lists and scalars


# The API's two counters, and what effects.yaml reads to judge each fault's effect.
_METRICS = (
    "http_request_count",
    "http_5xx_count",
    "db_query_duration_seconds",
    "worker_job_count",
    "run_events_ingested_total",
    "wrk_platform_calls_total",
    "wrk_platform_call_duration_seconds",
)


def _small_catalogue() -> dict[str, Doc]:
    metrics = yaml.safe_load((REAL / "metrics.yaml").read_text())["metrics"]
    slos = yaml.safe_load((REAL / "slos.yaml").read_text())
    alerts = yaml.safe_load((REAL / "alerts.yaml").read_text())
    effects = yaml.safe_load((REAL / "effects.yaml").read_text())
    studio = "studio-api-availability"
    return {
        "metrics": {"metrics": {k: metrics[k] for k in _METRICS}},
        "slos": {"slos": [s for s in slos["slos"] if s["name"] == studio]},
        "alerts": {
            "alerts": [a for a in alerts["alerts"] if a["name"] == "ApiHigh5xxRate"],
            "burn_rate_alerts": [a for a in alerts["burn_rate_alerts"] if a["slo"] == studio][:1],
        },
        "effects": effects,
    }


CATALOGUE = _small_catalogue()
SCENARIO: Doc = {
    "name": "generated",
    "description": "a scenario to mutate",
    "load": {"users": 2, "rate_per_user": 1.5, "mix": {"studio_read": 3, "studio_write": 1}},
    "phases": {"warmup": "1m", "baseline": "2m", "recovery_max": "5m"},
    "faults": [
        {"name": "down", "proxy": "wrk_platform", "kind": "outage"},
        {
            "name": "slow",
            "proxy": "postgres",
            "kind": "latency",
            "latency_ms": 100,
            "jitter_ms": 5,
            "toxicity": 0.5,
            "hold": "2m",
        },
        {
            "name": "flag",
            "kind": "http",
            "apply": {"service": "edge", "method": "PUT", "path": "/x", "json": {"a": [1, 2.5]}},
            "effect": {"query": "sum(rate(http_5xx_count_total[{{window}}]))", "at_least": 0.5},
        },
        {"name": "flood", "kind": "load", "users": 1, "rate_per_user": 2, "mix": {"bad_key": 1}},
    ],
    "expect": {
        "fires": ["ApiHigh5xxRate"],
        "resolves": ["ApiHigh5xxRate"],
        "onset": "1s",
        "slos": {"held": "all"},
        "evidence": {"metrics_present": "all", "error_codes": ["upstream_unavailable"]},
    },
}

odd_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    odd_text,
    st.sampled_from(["5m", "0s", "1e38h", "9" * 40 + "h", "99.5%", "nan%", "-1", "all",
                     "until_expectations", "\u202e\u0000", "ApiHigh5xxRate", "wrk_platform",
                     "sum(rate(x[{{window}}])) > 1", "(" * 3000 + "1" + ")" * 3000,
                     "1+" * 600 + "1", 'x{job="edge"} ) or']),
)  # fmt: skip
values = st.recursive(
    scalars, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(odd_text, kids, max_size=3)
)


def _paths(
    node: Doc, at: tuple[Any, ...] = (), inside: frozenset[int] = frozenset()
) -> Iterator[tuple[Any, ...]]:
    """Every place in `node`; a node inside itself (a mutation made it so) is not entered."""
    yield at
    if id(node) in inside or not isinstance(node, dict | list):
        return
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, child in list(items):
        yield from _paths(child, (*at, key), inside | {id(node)})


def _parent(doc: Doc, path: tuple[Any, ...]) -> Doc:
    for key in path[:-1]:
        doc = doc[key]
    return doc


@st.composite
def mutated(draw: st.DrawFn, base: Doc) -> Doc:
    """`base`, unchanged or with up to three mutations at places drawn from it."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(list(_paths(doc))))
        op = draw(st.sampled_from(["replace", "delete", "unknown", "nest", "alias", "recurse"]))
        if not path:  # the root itself
            doc = draw(values) if op == "replace" else doc
            continue
        parent, key = _parent(doc, path), path[-1]
        if op == "replace":
            parent[key] = draw(values)
        elif op == "delete":
            del parent[key]
        elif op == "unknown" and isinstance(parent[key], dict):
            parent[key][draw(odd_text)] = draw(values)
        elif op == "nest":
            for _ in range(draw(st.integers(1, 60))):
                parent[key] = [parent[key]]
        elif op == "alias":  # the same object twice: the dump writes an anchor and an alias
            other = draw(st.sampled_from(list(_paths(doc))))
            if other and other[: len(path)] != path:
                parent[key] = _parent(doc, other)[other[-1]]
        elif op == "recurse" and isinstance(parent[key], dict | list):
            node = parent[key]
            (node.__setitem__("self", node) if isinstance(node, dict) else node.append(node))
    return doc


@st.composite
def yaml_text(draw: st.DrawFn, base: Doc) -> str:
    """A dump of a mutated document, sometimes with an alias bomb or a deep nesting added."""
    doc = draw(mutated(base))
    text = yaml.safe_dump(doc, allow_unicode=draw(st.booleans()))
    extra = draw(st.sampled_from(["", "bomb", "deep"]))
    if not (isinstance(doc, dict) and doc):  # the extras are keys of a block mapping
        return text
    if extra == "bomb":
        levels = draw(st.integers(1, 9))
        lines = ["b0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 10)}]" for i in range(1, levels + 1)]
        text = "\n".join(lines) + "\n" + text
    elif extra == "deep":
        depth = draw(st.integers(1, 5000))
        text += f"deep: {'[' * depth}{']' * depth}\n"
    return text


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "scenarios"


def _write_suite(folder: Path, catalogue: dict[str, str], scenario: str) -> None:
    (folder / "catalog").mkdir(parents=True, exist_ok=True)
    for name, text in catalogue.items():
        (folder / "catalog" / f"{name}.yaml").write_text(text, encoding="utf-8")
    (folder / "generated.yaml").write_text(scenario, encoding="utf-8")


def _validate_within_limits(folder: Path) -> None:
    err = io.StringIO()
    tracemalloc.start()
    started = time.process_time()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["validate", "--scenarios", str(folder)])
        cpu = time.process_time() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code in (0, 2)
    assert cpu < MAX_CPU_S, f"{cpu:.2f} s of CPU"
    assert peak < MAX_PEAK_BYTES, f"{peak / 1e6:.0f} MB"
    if code == 2:
        head, *problems = err.getvalue().splitlines()
        assert head == f"wrkh: {len(problems)} problem(s) in the input:"
        for line in problems:
            file, field, reason = line.removeprefix("  - ").split(": ", 2)
            assert line.startswith("  - ") and Path(file).is_relative_to(folder), line
            assert field and reason, line


def _dump(doc: Doc) -> str:
    return yaml.safe_dump(doc, allow_unicode=True)


def test_the_unmutated_documents_are_valid(folder: Path) -> None:
    _write_suite(folder, {k: _dump(v) for k, v in CATALOGUE.items()}, _dump(SCENARIO))
    assert main(["validate", "--scenarios", str(folder)]) == 0


@EXAMPLES
@given(scenario=yaml_text(SCENARIO))
def test_generated_scenarios(folder: Path, scenario: str) -> None:
    _write_suite(folder, {k: _dump(v) for k, v in CATALOGUE.items()}, scenario)
    _validate_within_limits(folder)


@EXAMPLES
@given(which=st.sampled_from(sorted(CATALOGUE)), data=st.data())
def test_generated_catalogues(folder: Path, which: str, data: st.DataObject) -> None:
    catalogue = {k: _dump(v) for k, v in CATALOGUE.items()}
    catalogue[which] = data.draw(yaml_text(CATALOGUE[which]))
    _write_suite(folder, catalogue, _dump(SCENARIO))
    _validate_within_limits(folder)
