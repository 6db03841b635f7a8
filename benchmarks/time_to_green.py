"""Time to green: `stackwise new`, a fresh venv with every dependency, and the project's own tests.

Per framework, for the template's defaults and for every option at once, with a warm uv cache
(one untimed install first, into the cache the template tests share). Each step is a fresh
process, as users run them: `stackwise new` renders, writes uv.lock and commits, `uv sync
--locked` installs, `pytest` runs the project's own suite. Each figure is the median of --runs
projects, each generated, installed and tested from nothing. The suite's own seconds and test
count come from pytest's last line.

Every option at once needs PostgreSQL and Redis on this machine (127.0.0.1): the suite's Redis
tests run against REDIS_URL, which this script sets, so that nothing is skipped.

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
GOAL_SECONDS = 8
STEPS = ("stackwise new", "uv sync (fresh venv)", "own test suite")
# Every option at once, per framework (the template proofs' maximal rows).
MAXIMAL = {
    "django": [
        *["api=drf", "celery=true", "cms=wagtail", "database=postgres", "login_by=email"],
        *["mfa=true", "observability=true", "sentry=true", "storage=s3"],
    ],
    "flask": [
        "extensions=[sqlalchemy, migrate, login, wtf, admin, api, cors, limiter, caching, "
        "talisman, celery]",
        *["database=postgres", "mfa=true", "observability=true", "sentry=true"],
    ],
    "fastapi": [
        *["admin=sqladmin", "auth=jwt", "background=celery", "database=postgres"],
        *["ml_serving=true", "websockets=true", "observability=true", "sentry=true"],
    ],
}
COMBINATIONS: dict[str, dict[str, list[str]]] = {
    "defaults": {name: [] for name in MAXIMAL},
    "every option": MAXIMAL,
}
REDIS_URL = "redis://127.0.0.1:6379/9"


def uv_env() -> dict[str, str]:
    cache = os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "stackwise-tests" / "uv")
    # Python keeps the bytecode it compiles on a user's machine. Where PYTHONDONTWRITEBYTECODE is
    # set (some CI images and containers), every process compiles every module it imports again:
    # each interpreter a suite starts pays a second or more for it.
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {
        **inherited,
        "UV_CACHE_DIR": cache,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
        "VIRTUAL_ENV": "",
        "REDIS_URL": REDIS_URL,
    }


def step_commands(
    framework: str, project: Path, answers: list[str]
) -> list[tuple[list[str], Path]]:
    uv = str(BIN / "uv")
    data = [flag for answer in answers for flag in ("--data", answer)]
    new = [str(BIN / "stackwise"), "new", str(project), "-f", framework, "--defaults", *data]
    return [
        (new, project.parent),
        ([uv, "sync", "--locked", "--python", sys.executable], project),
        ([uv, "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider"], project),
    ]


def green_once(framework: str, project: Path, answers: list[str]) -> tuple[list[float], str]:
    """Seconds per step for one project made from nothing, and pytest's summary line; a failing
    step stops the run."""
    seconds = []
    for command, cwd in step_commands(framework, project, answers):
        start = time.perf_counter()
        completed = subprocess.run(command, cwd=cwd, env=uv_env(), capture_output=True, text=True)
        seconds.append(time.perf_counter() - start)
        if completed.returncode != 0:
            sys.exit(f"{framework}: `{' '.join(command[:3])}` failed:\n{completed.stdout[-3000:]}")
    return seconds, completed.stdout.strip().splitlines()[-1]


def measure(runs: int) -> dict[tuple[str, str], tuple[list[float], str]]:
    """Median seconds per step and in total, and the suite's summary, per framework and
    combination; the combinations alternate run by run."""
    medians = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for framework in MAXIMAL:
            green_once(framework, work / f"{framework}_warmup", MAXIMAL[framework])  # the cache
            samples: dict[str, list[list[float]]] = {name: [] for name in COMBINATIONS}
            summaries = {}
            for run in range(runs):
                for index, (name, answers) in enumerate(COMBINATIONS.items()):
                    project = work / f"{framework}_{run}_{index}"
                    seconds, summaries[name] = green_once(framework, project, answers[framework])
                    samples[name].append(seconds)
            for name, rows in samples.items():
                steps = [statistics.median(step) for step in zip(*rows, strict=True)]
                total = statistics.median(sum(row) for row in rows)
                medians[framework, name] = ([*steps, total], summaries[name])
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs

    medians = measure(runs)
    print(f"Time to green, warm uv cache, median of {runs} (goal <= {GOAL_SECONDS} s)")
    print(f"| framework | answers | {' | '.join(STEPS)} | total | goal met | the suite's summary |")
    print("|---|---|" + "---:|" * (len(STEPS) + 1) + "---|---|")
    for (framework, name), (seconds, summary) in medians.items():
        cells = " | ".join(f"{s:.1f} s" for s in seconds)
        met = "yes" if seconds[-1] <= GOAL_SECONDS else "no"
        print(f"| {framework} | {name} | {cells} | {met} | {summary.strip('= ')} |")


if __name__ == "__main__":
    main()
