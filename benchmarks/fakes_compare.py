"""The fakes' throughput at two revisions, alternated in one run: the only fair comparison on a
shared machine, where req/s and even CPU per request drift with the neighbours' load.

A git worktree of `--base` is made in a temporary folder; each round runs this tree's
fakes_throughput.py once against the base's fakes and once against the working tree's (same
load, same Locust), in alternating order. Prints each run, then per side the medians and the
ratio working tree / base. Locust is the same code on both sides: its ratio shows the noise.

    .venv/bin/python benchmarks/fakes_compare.py --base HEAD~1 --rounds 3 --duration 20

`--head REV` puts a second revision in place of the working tree (a worktree of its own), to
weigh one commit of a series against its parent.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.fakes_throughput import unwind_on_sigterm  # noqa: E402

THROUGHPUT = ROOT / "benchmarks" / "fakes_throughput.py"
FIGURES = ("rps", "p50_ms", "p95_ms", "p99_ms", "failures", "rss_all_fakes_mb")
CPU = ("core", "edge", "platform", "webhook", "workers", "postgres", "locust", "machine")


@dataclass
class Side:
    name: str
    tree: Path
    runs: list[dict[str, object]] = field(default_factory=list)

    def median(self, key: str) -> float:
        values = [_figure(run, key) for run in self.runs]
        return statistics.median(values)


def _figure(run: dict[str, object], key: str) -> float:
    cpu = run["cpu_ms_per_request"]
    value = cpu[key] if key in CPU and isinstance(cpu, dict) else run[key]
    return float(value)  # type: ignore[arg-type]


def add_worktree(base: str, folder: Path, name: str = "base") -> Path:
    tree = folder / name
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), base],
        check=True,
    )
    return tree


def remove_worktree(tree: Path) -> None:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False
    )


def run_once(side: Side, duration: int, out: Path) -> None:
    """The services start from the side's tree: `python -m fake_services` resolves from the
    working directory, and PYTHONPATH says the same to anything else they import."""
    env = {**os.environ, "PYTHONPATH": str(side.tree)}
    command = [sys.executable, str(THROUGHPUT), "--runs", "1", "--duration", str(duration)]
    proc = subprocess.Popen(
        [*command, "--json", str(out)], cwd=side.tree, env=env,
        stdout=subprocess.DEVNULL,  # its table: the figures come from --json
    )  # fmt: skip
    try:
        code = proc.wait()
    except BaseException:
        proc.terminate()  # it unwinds on SIGTERM: its services, Postgres and Locust stop
        proc.wait(timeout=60)
        raise
    if code != 0:
        raise SystemExit(f"fakes_throughput.py failed (exit {code}) on the {side.name} side")
    (run,) = json.loads(out.read_text())
    side.runs.append(run)
    cpu = " ".join(f"{key} {_figure(run, key):.2f}" for key in CPU)
    rss = _figure(run, "rss_all_fakes_mb")
    print(f"{side.name:<6} {_figure(run, 'rps'):7.1f} req/s  p95 {_figure(run, 'p95_ms'):4.0f} ms"
          f"  failures {_figure(run, 'failures'):.0f}  RSS {rss:.0f} MB"
          f"  cpu ms/req {cpu}", flush=True)  # fmt: skip


def report(base: Side, head: Side) -> None:
    print(f"\n{'median':<12} {'base':>9} {'tree':>9} {'tree/base':>10}")
    for key in (*FIGURES, *CPU):
        before, after = base.median(key), head.median(key)
        ratio = after / before if before else float("nan")
        print(f"{key:<12} {before:>9.2f} {after:>9.2f} {ratio:>10.3f}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, help="the git revision to compare against")
    parser.add_argument("--head", help="a git revision instead of the working tree")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=20, help="seconds of load per run")
    args = parser.parse_args(argv)
    unwind_on_sigterm()  # the running benchmark is stopped and the worktree removed
    with tempfile.TemporaryDirectory(prefix="fakes-compare-") as tmp:
        folder = Path(tmp)
        base = Side("base", add_worktree(args.base, folder))
        head = Side("tree", ROOT)
        try:
            if args.head:
                head = Side("tree", add_worktree(args.head, folder, "head"))
            for round_ in range(args.rounds):
                # Alternate who goes first: a drift in the machine's load favours neither.
                order = (base, head) if round_ % 2 == 0 else (head, base)
                for side in order:
                    run_once(side, args.duration, folder / f"{side.name}-{round_}.json")
        finally:
            remove_worktree(base.tree)
            if head.tree != ROOT:
                remove_worktree(head.tree)
    report(base, head)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
