"""Time `stackwise new --defaults` against plain `copier copy` of the same template, in one run.

Also times CLI start-up (`--help`) of stackwise and copier. Runs are interleaved so both tools
see the same machine state; each figure is the median of --runs fresh processes.

    python benchmarks/render.py [--runs 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FRAMEWORKS = ("django", "flask", "fastapi")


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def commands(framework: str, destination: str) -> dict[str, list[str]]:
    data = ["--framework", framework, "--defaults"]
    return {
        "stackwise new": [str(BIN / "stackwise"), "new", destination, *data],
        "stackwise new --no-lock": [str(BIN / "stackwise"), "new", destination, *data, "--no-lock"],
        "stackwise new --no-lock --no-git": [
            *[str(BIN / "stackwise"), "new", destination, *data],
            *["--no-lock", "--no-git"],
        ],
        "copier copy": [
            str(BIN / "copier"),
            "copy",
            "--quiet",
            "--defaults",
            "--vcs-ref",
            "HEAD",
            "--data",
            f"framework={framework}",
            str(REPO_ROOT),
            destination,
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs

    print(f"| Measurement (median of {runs}) | stackwise | copier | ratio |")
    print("|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        help_times: dict[str, list[float]] = {"stackwise": [], "copier": []}
        for _ in range(runs):
            for tool in help_times:
                help_times[tool].append(timed([str(BIN / tool), "--help"], work))
        own, theirs = (statistics.median(help_times[t]) for t in ("stackwise", "copier"))
        print(f"| `--help` start-up | {own:.3f} s | {theirs:.3f} s | {own / theirs:.2f} |")

        for framework in FRAMEWORKS:
            times: dict[str, list[float]] = {name: [] for name in commands(framework, "x")}
            for run in range(runs):
                for name, command in commands(framework, f"svc_{run}").items():
                    target = work / f"svc_{run}"
                    times[name].append(timed(command, work))
                    shutil.rmtree(target)
            copier_median = statistics.median(times["copier copy"])
            for name in (
                "stackwise new",
                "stackwise new --no-lock",
                "stackwise new --no-lock --no-git",
            ):
                median = statistics.median(times[name])
                print(
                    f"| {framework}: `{name}` vs `copier copy` | {median:.3f} s "
                    f"| {copier_median:.3f} s | {median / copier_median:.2f} |"
                )
            lock = statistics.median(times["stackwise new"]) - statistics.median(
                times["stackwise new --no-lock"]
            )
            print(f"| {framework}: the lock step (new - new --no-lock) | {lock:.3f} s | | |")


if __name__ == "__main__":
    main()
