"""Time to green: `stackwise new`, a fresh venv with every dependency, and the project's own tests.

Per framework, on the template's defaults, with a warm uv cache (one untimed install first, into
the cache the template tests share). Each step is a fresh process; each figure is the median of
--runs projects, each generated, installed and tested from nothing.

Two ways, interleaved run by run: as users get it (`stackwise new` writes and commits uv.lock,
then `uv sync --locked` installs from it), and without the lock (`stackwise new --no-lock`,
then `uv sync` resolves and writes it), which is how projects were made before the lock.

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
WAYS = {"with the lock": ([], ["--locked"]), "without the lock": (["--no-lock"], [])}


def uv_env() -> dict[str, str]:
    cache = os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "stackwise-tests" / "uv")
    return {
        **os.environ,
        "UV_CACHE_DIR": cache,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
        "VIRTUAL_ENV": "",
    }


def step_commands(framework: str, project: Path, way: str) -> list[tuple[list[str], Path]]:
    uv = str(BIN / "uv")
    new_flags, sync_flags = WAYS[way]
    new = [str(BIN / "stackwise"), "new", str(project), "-f", framework, "--defaults"]
    return [
        ([*new, *new_flags], project.parent),
        ([uv, "sync", *sync_flags, "--python", sys.executable], project),
        ([uv, "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider"], project),
    ]


def green_once(framework: str, scratch: Path, name: str, way: str) -> list[float]:
    """Seconds per step for one project made from nothing; a failing step stops the run."""
    seconds = []
    for command, cwd in step_commands(framework, scratch / name, way):
        start = time.perf_counter()
        completed = subprocess.run(command, cwd=cwd, env=uv_env(), capture_output=True, text=True)
        seconds.append(time.perf_counter() - start)
        if completed.returncode != 0:
            sys.exit(f"{framework}: `{' '.join(command[:3])}` failed:\n{completed.stdout[-3000:]}")
    return seconds


def measure(runs: int) -> dict[tuple[str, str], list[float]]:
    """Median seconds per step and in total, per framework and way."""
    medians = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for framework in FRAMEWORKS:
            green_once(framework, work, f"{framework}_warmup", "with the lock")  # fills the cache
            samples: dict[str, list[list[float]]] = {way: [] for way in WAYS}
            for run in range(runs):
                for index, way in enumerate(WAYS):
                    name = f"{framework}_{run}_{index}"
                    samples[way].append(green_once(framework, work, name, way))
            for way, rows in samples.items():
                steps = [statistics.median(step) for step in zip(*rows, strict=True)]
                medians[framework, way] = [*steps, statistics.median(sum(row) for row in rows)]
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs

    medians = measure(runs)
    print(f"Time to green, warm uv cache, median of {runs} (goal < {GOAL_SECONDS} s)")
    print(f"| framework | way | {' | '.join(STEPS)} | total | goal met |")
    print("|---|---|" + "---:|" * (len(STEPS) + 1) + "---|")
    for (framework, way), seconds in medians.items():
        cells = " | ".join(f"{s:.1f} s" for s in seconds)
        met = "yes" if seconds[-1] < GOAL_SECONDS else "no"
        print(f"| {framework} | {way} | {cells} | {met} |")


if __name__ == "__main__":
    main()
