"""YAML input limits: every file the harness reads goes through one loader, which refuses an
alias bomb, deep nesting and oversized files at parse time with a `file: field: reason` line."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.errors import ConfigError
from harness.gameday.config import load_config
from harness.spec.files import MAX_FILE_BYTES, load_model, read_yaml
from harness.spec.scenario import Scenario
from harness.spec.yaml_limits import MAX_ALIASES, MAX_DEPTH, MAX_VALUES
from harness.stack.compose_file import load_compose
from harness.stack.compose_override import OVERRIDE_NAME, load_merged
from tests.input_suites import ROOT, suite, validate

CHURN = ROOT / "scenarios" / "churn_risk.yaml"
BODY = "json: {name: Globex (top tier), tier: top, health_status: Healthy}"


def alias_bomb(levels: int, indent: int = 0) -> str:
    """`levels` anchors, each a list of ten aliases of the one before: 10**levels values."""
    pad = " " * indent
    lines = [f"{pad}a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels + 1):
        lines.append(f"{pad}a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    return "\n".join(lines)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def problem_lines(folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """`wrkh validate` of `folder`: its exit code and its problem lines (`file: field: reason`)."""
    code, err = validate(capsys, "--scenarios", str(folder))
    return code, [line.removeprefix("  - ") for line in err.splitlines()[1:]]


def with_body(body: str) -> str:
    """The churn-risk scenario with its first HTTP call's JSON body replaced."""
    text = CHURN.read_text()
    assert BODY in text, "the scenario changed; update this test"
    return text.replace(BODY, body, 1)


def test_an_alias_bomb_in_a_json_body_is_refused_at_parse_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 10**5 values from 300 bytes: accepted and expanded in full before these limits.
    bomb = "json:\n" + alias_bomb(5, indent=10)
    folder = suite(tmp_path, churn=with_body(bomb))
    tracemalloc.start()
    try:
        code, problems = problem_lines(folder, capsys)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 2
    (problem,) = problems
    assert problem.startswith(f"{folder / 'churn.yaml'}: line ")
    assert f"more than {MAX_VALUES} values once aliases are expanded" in problem
    assert peak < 30e6, f"{peak / 1e6:.0f} MB to refuse it"


def test_a_5000_deep_nesting_is_one_line_not_a_recursion_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = suite(tmp_path, churn=with_body(f"json: {nested(5000)}"))
    code, problems = problem_lines(folder, capsys)
    assert code == 2
    assert problems == [
        f"{folder / 'churn.yaml'}: line 19, column {15 + MAX_DEPTH}: "
        f"nested deeper than {MAX_DEPTH} levels, the most allowed"
    ]


def test_deep_block_nesting_is_refused_as_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "x\n")
    _, (problem,) = read_yaml(path)
    assert problem.reason == f"nested deeper than {MAX_DEPTH} levels, the most allowed"


def test_nesting_brought_in_by_an_alias_counts(tmp_path: Path) -> None:
    path = tmp_path / "alias_depth.yaml"
    half = MAX_DEPTH // 2 + 1
    path.write_text(f"a: &a {nested(half)}\nb: {'[' * half}*a{']' * half}\n")
    _, (problem,) = read_yaml(path)
    assert problem.field == f"line 2, column {4 + half}"
    assert "the alias nests deeper than" in problem.reason


def test_too_many_aliases_and_a_recursive_alias_are_refused(tmp_path: Path) -> None:
    many = tmp_path / "many.yaml"
    many.write_text("a: &a 1\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n")
    _, (problem,) = read_yaml(many)
    assert problem.reason == f"more than {MAX_ALIASES} aliases, the most allowed"
    recursive = tmp_path / "recursive.yaml"
    recursive.write_text("a: &a {b: *a}\n")
    _, (problem,) = read_yaml(recursive)
    assert problem.field == "line 1, column 11"
    assert "an alias inside the node it refers to" in problem.reason


def test_a_file_past_the_size_limit_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("description: " + "x" * MAX_FILE_BYTES + "\n")
    data, (problem,) = read_yaml(path)
    assert data is None
    assert (problem.field, problem.reason) == (
        "(file)",
        f"larger than {MAX_FILE_BYTES // 1024} KiB, the most an input file may be",
    )


def test_ordinary_aliases_and_merge_keys_still_load(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("base: &b {x: 1, y: 2}\nuse: *b\nmerged:\n  <<: *b\n  y: 3\n")
    data, problems = read_yaml(path)
    assert problems == []
    assert data == {"base": {"x": 1, "y": 2}, "use": {"x": 1, "y": 2}, "merged": {"x": 1, "y": 3}}


def test_the_catalogue_goes_through_the_same_loader(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = suite(tmp_path, churn=CHURN.read_text())
    alerts = folder / "catalog" / "alerts.yaml"
    alerts.write_text(alias_bomb(5) + "\n" + alerts.read_text())
    code, problems = problem_lines(folder, capsys)
    assert code == 2
    assert [p.split(": ")[0] for p in problems] == [str(alerts)]
    assert "values once aliases are expanded" in problems[0]


def test_a_game_day_target_file_goes_through_the_same_loader(tmp_path: Path) -> None:
    path = tmp_path / "gameday.yaml"
    path.write_text(f"prometheus: {nested(5000)}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    (problem,) = err.value.problems
    assert "nested deeper than" in problem.reason


def test_the_compose_file_goes_through_the_same_loader(tmp_path: Path) -> None:
    path = tmp_path / "docker-compose.yml"
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    path.write_text(alias_bomb(5) + "\n" + yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as err:
        load_compose(path)
    (problem,) = err.value.problems
    assert "values once aliases are expanded" in problem.reason


def test_a_key_that_would_break_its_problem_line_is_quoted(tmp_path: Path) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text('name: x\n"a\\rb": 1\n"c: d": 2\npanel title: 3\n')
    _, problems = load_model(Scenario, path)
    fields = {p.field for p in problems}
    assert {"['a\\rb']", "['c: d']", "panel title"} <= fields
    assert all(len(str(p).splitlines()) == 1 for p in problems)


@pytest.mark.parametrize("command", ["import-rules", "import-slos"])
def test_imported_files_go_through_the_same_loader(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    source = tmp_path / "source.yml"
    source.write_text(alias_bomb(6) + "\n")
    assert main([command, str(source), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{source}: line " in err and "values once aliases are expanded" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_a_compose_override_goes_through_the_same_loader(tmp_path: Path) -> None:
    override = tmp_path / OVERRIDE_NAME
    override.write_text(f"services: {nested(5000)}\n")
    with pytest.raises(ConfigError) as err:
        load_merged([ROOT / "docker-compose.yml", override])
    (problem,) = err.value.problems
    assert (problem.file, problem.reason) == (str(override), f"nested deeper than {MAX_DEPTH} "
                                              "levels, the most allowed")  # fmt: skip
