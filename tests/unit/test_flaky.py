"""Flaky checks: a verdict that both passed and failed on one revision is named flaky in the
ledger, and `report diff` lists it apart from the regressions."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.cli import main
from harness.report import revision as revision_module
from harness.report.diff import compare, flaky, record_run
from harness.report.ledger import LEDGER_FILE, load_ledger, run_from_results
from harness.report.revision import Revision, current_revision, tree_hash
from tests.unit.test_ledger import OUTAGE, run

REV_A = Revision("a" * 40, False, "t1", "c1")
REV_B = Revision("b" * 40, False, "t1", "c1")
FIRES = f"{OUTAGE}::alert_fires::ApiHigh5xxRate"
QUIET = f"{OUTAGE}::baseline_quiet"


def test_a_check_that_passed_and_failed_on_one_revision_is_marked_in_every_run_of_it(
    tmp_path: Path,
) -> None:
    record_run(tmp_path, run("r1", revision=REV_A))
    assert record_run(tmp_path, run("r2", revision=REV_A)).flaky == ()
    recorded = record_run(tmp_path, run("r3", quiet=False, revision=REV_A))
    assert recorded.flaky == (QUIET,)
    assert recorded.regressions == []  # the noise is flaky on this revision, not a regression
    ledger = load_ledger(tmp_path / LEDGER_FILE)
    assert all(r.flaky == (QUIET,) for r in ledger.runs)
    # Once flaky on a revision, always: a later agreeing run keeps the mark.
    assert record_run(tmp_path, run("r4", revision=REV_A)).flaky == (QUIET,)


def test_another_revision_keeps_a_failure_a_regression(tmp_path: Path) -> None:
    record_run(tmp_path, run("r1", revision=REV_A))
    recorded = record_run(tmp_path, run("r2", quiet=False, revision=REV_B))
    assert recorded.flaky == ()
    assert [r.kind for r in recorded.regressions or []] == ["new_baseline_noise"]
    assert (recorded.regressions or [])[0].check == QUIET


@pytest.mark.parametrize(
    "other",
    [
        Revision("a" * 40, True, "t2", "c1"),  # the same commit with local changes
        Revision("a" * 40, False, "t1", "c2"),  # e.g. WRK_DEFECTS given to the fakes
        None,  # a run recorded before revisions were
    ],
)
def test_runs_differing_in_tree_or_conditions_are_not_one_revision(
    tmp_path: Path, other: Revision | None
) -> None:
    record_run(tmp_path, run("r1", revision=REV_A))
    assert record_run(tmp_path, run("r2", quiet=False, revision=other)).flaky == ()


def test_diff_of_two_runs_of_one_revision_names_the_check_flaky_not_regressed() -> None:
    good = run_from_results(run("good", revision=REV_A))
    bad = run_from_results(run("bad", fires=(False, None), revision=REV_A))
    assert compare(good, bad) == []
    assert flaky(good, bad) == [f"{OUTAGE}::alert_delivered::ApiHigh5xxRate", FIRES]
    other = run_from_results(run("other", fires=(False, None), revision=REV_B))
    assert [r.kind for r in compare(good, other)][:2] == [
        "alert_no_longer_fires",
        "alert_no_longer_delivered",
    ]


def test_cli_diff_says_flaky_apart_from_regressions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record_run(tmp_path, run("good", revision=REV_A))
    record_run(tmp_path, run("noisy", quiet=False, revision=REV_A))
    record_run(tmp_path, run("broken", quiet=False, fires=(False, None), revision=REV_B))
    ledger = str(tmp_path / LEDGER_FILE)
    assert main(["report", "diff", "good", "noisy", "--ledger", ledger]) == 0
    out = capsys.readouterr().out
    assert "0 regression(s), 1 flaky check(s)" in out
    assert f"FLAKY      {QUIET}: passed 1 of 2 run(s) of revision aaaaaaaaaaaa" in out
    assert "REGRESSION" not in out
    assert main(["report", "diff", "good", "broken", "--ledger", ledger]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION alert_no_longer_fires" in out and "new_baseline_noise" in out
    assert "FLAKY" not in out


def test_results_carry_the_revision_into_the_ledger(tmp_path: Path) -> None:
    record_run(tmp_path, run("r1", revision=REV_A))
    entry = load_ledger(tmp_path / LEDGER_FILE).find("r1")
    assert entry.revision == REV_A
    assert entry.verdicts[FIRES] is True and entry.verdicts[QUIET] is True


def test_revision_names_the_commit_and_whether_the_checkout_had_changes(tmp_path: Path) -> None:
    rev = current_revision(tmp_path, {"without_faults": False})
    git = subprocess.run(
        ["git", "-C", str(revision_module.CHECKOUT), "rev-parse", "HEAD"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if git.returncode != 0:
        pytest.skip("the harness is not a git checkout here")
    head = git.stdout.strip()
    assert rev.commit == head and rev.dirty is not None
    assert rev.label.startswith(head[:12])
    assert rev.conditions != current_revision(tmp_path, {"without_faults": True}).conditions


def test_outside_a_git_checkout_the_tree_hash_tells_revisions_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(revision_module, "CHECKOUT", tmp_path / "not-a-checkout")
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "a.yaml").write_text("name: a\n")
    before = current_revision(tmp_path / "suite", {})
    assert before.commit is None and before.dirty is None
    assert before.label == f"tree {before.tree[:12]}"
    (tmp_path / "suite" / "__pycache__").mkdir()
    (tmp_path / "suite" / "__pycache__" / "x.pyc").write_bytes(b"cache")
    assert tree_hash([tmp_path / "suite"]) == before.tree  # caches do not count
    (tmp_path / "suite" / "a.yaml").write_text("name: b\n")
    assert current_revision(tmp_path / "suite", {}).tree != before.tree
