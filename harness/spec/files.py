"""Turning input files into typed models, or into every problem they contain at once.

Catalogue and scenario files are validated before anything starts. A user fixing a file should
see all of its problems in one run, each as `file: field.path[0]: reason`, so this module:

- reads YAML within limits (size here; depth, aliases and values in
  `harness.spec.yaml_limits`) and reports syntax errors with their line and column, and
  duplicate mapping keys (PyYAML silently keeps the last one, which would hide a typo such as
  two `for:` keys);
- converts a pydantic `ValidationError` into `Problem`s with dotted paths written as the user
  wrote them (aliases, list indexes), without pydantic's internal path segments.

The field types the models share are in `harness.spec.fields`; the checks of PromQL templates
against the metric contract in `harness.spec.vocabulary`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from harness.errors import Problem
from harness.spec.yaml_limits import InputLimitExceeded, LimitedLoader

ROOT_FIELD = "(root)"
FILE_FIELD = "(file)"
# The largest shipped input (alerts.yaml) is 33 KB; PyYAML reads about 0.5 MB a second here.
MAX_FILE_BYTES: Final = 256 * 1024


def display_path(path: Path) -> str:
    """Path as shown in problems: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_yaml(
    path: Path, loader_class: type[LimitedLoader] = LimitedLoader
) -> tuple[object, list[Problem]]:
    """Load one YAML document within the input limits (size here, the rest in
    `harness.spec.yaml_limits`); problems instead of exceptions (unreadable, too large, bad
    syntax, past a limit, duplicate keys). `loader_class` may add tags (Compose's `!reset`)."""
    file = display_path(path)
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)  # never more, whatever the file holds
        if len(raw) > MAX_FILE_BYTES:
            reason = f"larger than {MAX_FILE_BYTES // 1024} KiB, the most an input file may be"
            return None, [Problem(file, FILE_FIELD, reason)]
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(file, FILE_FIELD, _unreadable(path, exc))]
    loader = loader_class(text)
    try:
        data = loader.get_single_data()
    except InputLimitExceeded as exc:
        return None, [Problem(file, _where(exc), str(exc.problem))]
    except yaml.YAMLError as exc:
        return None, [_syntax_problem(file, exc)]
    finally:
        loader.dispose()
    problems = [
        Problem(file, f"line {line}", f"duplicate key {key!r}") for key, line in loader.duplicates
    ]
    return data, problems


def _unreadable(path: Path, exc: Exception) -> str:
    if path.is_symlink() and not path.exists():
        return f"cannot read: a link to {path.readlink()}, which does not exist"
    return f"cannot read: {exc}"


def _where(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark
    return ROOT_FIELD if mark is None else f"line {mark.line + 1}, column {mark.column + 1}"


def _syntax_problem(file: str, exc: yaml.YAMLError) -> Problem:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        return Problem(file, _where(exc), f"YAML syntax error: {what}")
    return Problem(file, ROOT_FIELD, f"YAML syntax error: {exc}")


M = TypeVar("M", bound=BaseModel)


def validate_data(
    model: type[M], data: object, file: str, context: Mapping[str, object] | None = None
) -> tuple[M | None, list[Problem]]:
    """Validate already-loaded data against `model`; the model, or None and every problem."""
    if not isinstance(data, dict):
        kind = "an empty file" if data is None else type(data).__name__
        return None, [Problem(file, ROOT_FIELD, f"expected a mapping at the top, got {kind}")]
    try:
        return model.model_validate(data, context=dict(context or {})), []
    except ValidationError as exc:
        return None, problems_from_validation_error(file, exc, data)


def load_model(
    model: type[M], path: Path, context: Mapping[str, object] | None = None
) -> tuple[M | None, list[Problem]]:
    """Read and validate one YAML file; the model (if valid) and all problems found."""
    data, problems = read_yaml(path)
    if problems and data is None:
        return None, problems
    result, more = validate_data(model, data, display_path(path), context)
    return (result if not problems else None), problems + more


def problems_from_validation_error(
    file: str, error: ValidationError, data: object
) -> list[Problem]:
    """One Problem per pydantic error, with the path as written in the input file."""
    errors = _without_echoes(error.errors())
    return [
        Problem(file, field_path(e["loc"], data, missing=e["type"] == "missing"), reason(e))
        for e in errors
    ]


def _without_echoes(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop a length error caused only by invalid items: pydantic counts the valid ones, so a
    list whose only item is invalid is also reported as too short."""
    locs = [tuple(e["loc"]) for e in errors]

    def echo(e: ErrorDetails) -> bool:
        loc = tuple(e["loc"])
        return e["type"] == "too_short" and any(o[: len(loc)] == loc != o for o in locs)

    return [e for e in errors if not echo(e)]


def field_path(loc: Sequence[int | str], data: object, missing: bool = False) -> str:
    """Render a pydantic location as `alerts[0].for`, walking the input alongside it.

    Pydantic inserts segments that are not in the input: the tag of a discriminated union
    (`faults.0.latency.latency_ms`) and `[key]` for a bad mapping key. A string segment the
    input does not have is dropped, except the last one of a `missing` error (the field the
    user must add); a last segment that is not missing is kept unless it is the union tag
    itself (a value of the mapping it would index, as for a member's model-level error).
    """
    parts: list[str] = []
    node: object = data
    for i, seg in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(seg, int):
            parts.append(f"[{seg}]")
            node = node[seg] if isinstance(node, list) and -len(node) <= seg < len(node) else None
        elif isinstance(node, dict) and seg in node:
            parts.append(_key(seg))
            node = node[seg]
        elif seg == "[key]" or not last or (not missing and _is_tag(node, seg)):
            continue
        else:
            parts.append(_key(seg))
    return "".join(parts).lstrip(".") or ROOT_FIELD


def _key(key: str) -> str:
    """`.key`, or `['key']` quoted when it would not read as one on one line."""
    plain = key.strip() == key != "" and key.isprintable() and not any(c in key for c in ".[]'\":")
    return f".{key}" if plain else f"[{key!r}]"


def _is_tag(node: object, seg: str) -> bool:
    return isinstance(node, dict) and seg in {v for v in node.values() if isinstance(v, str)}


def reason(error: ErrorDetails) -> str:
    """A short human reason; pydantic's wording where it is already good."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (not allowed here)"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind == "too_short" and "min_length" in ctx:
        return f"needs at least {ctx['min_length']} item(s), got {ctx.get('actual_length')}"
    if kind == "union_tag_invalid":
        return (
            f"unknown {ctx['discriminator'].strip(chr(39))} {ctx['tag']!r}; "
            f"expected one of {ctx['expected_tags']}"
        )
    if kind == "union_tag_not_found":
        return f"required field {ctx['discriminator']} is missing"
    value = error.get("input")
    got = f" (got {value!r})" if isinstance(value, str | int | float | bool) else ""
    return f"{error['msg']}{got}"
