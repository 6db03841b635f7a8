"""Time to green: `stackwise new`, a fresh venv with every dependency, and the project's own tests.

Per framework, on the template's defaults, with a warm uv cache (one untimed install first, into
the cache the template tests share). Each step is a fresh process; each figure is the median of
--runs projects, each generated, installed and tested from nothing.

    python benchmarks/time_to_green.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
FRAMEWORKS = ("django", "flask", "fastapi")
GOAL_SECONDS = 20
STEPS = ("stackwise new", "uv sync (fresh venv)", "own test suite")


def uv_env() -> dict[str, str]:
    cache = os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "stackwise-tests" / "uv")
    return {
        **os.environ,
        "UV_CACHE_DIR": cache,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
        "VIRTUAL_ENV": "",
    }


def step_commands(framework: str, project: Path) -> list[tuple[list[str], Path]]:
    uv = str(BIN / "uv")
    return [
        (
            [str(BIN / "stackwise"), "new", str(project), "-f", framework, "--defaults"],
            project.parent,
        ),
        ([uv, "sync", "--python", sys.executable], project),
        ([uv, "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider"], project),
    ]


def green_once(framework: str, scratch: Path, name: str) -> list[float]:
    """Seconds per step for one project made from nothing; a failing step stops the run."""
    seconds = []
    for command, cwd in step_commands(framework, scratch / name):
        start = time.perf_counter()
        completed = subprocess.run(command, cwd=cwd, env=uv_env(), capture_output=True, text=True)
        seconds.append(time.perf_counter() - start)
        if completed.returncode != 0:
            sys.exit(f"{framework}: `{' '.join(command[:3])}` failed:\n{completed.stdout[-3000:]}")
    return seconds


def measure(runs: int) -> dict[str, list[float]]:
    """Median seconds per step, per framework."""
    medians = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for framework in FRAMEWORKS:
            green_once(framework, work, f"{framework}_warmup")  # fills the uv cache
            samples = [green_once(framework, work, f"{framework}_{run}") for run in range(runs)]
            medians[framework] = [statistics.median(step) for step in zip(*samples, strict=True)]
            medians[framework].append(statistics.median(sum(sample) for sample in samples))
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs

    medians = measure(runs)
    print(f"Time to green, warm uv cache, median of {runs} (goal < {GOAL_SECONDS} s)")
    print(f"| framework | {' | '.join(STEPS)} | total | goal met |")
    print("|---|" + "---:|" * (len(STEPS) + 1) + "---|")
    for framework, seconds in medians.items():
        cells = " | ".join(f"{s:.1f} s" for s in seconds)
        met = "yes" if seconds[-1] < GOAL_SECONDS else "no"
        print(f"| {framework} | {cells} | {met} |")


if __name__ == "__main__":
    main()
