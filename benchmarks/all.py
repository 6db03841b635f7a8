"""Every benchmark in one run: render and start-up, update and status, time to green, and
serving per framework, then the three frameworks side by side with the published figures
stackwise's guide quotes.

    python benchmarks/all.py [--quick]

--quick runs fewer, shorter rounds: a check that everything works, not numbers to publish.
Needs wrk (Debian: apt-get install wrk) and the test tools (README, command 2).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import serving  # noqa: E402 (a sibling script, not a package)

from stackwise.guide import load_guide  # noqa: E402


def side_by_side(results: dict[str, dict[str, dict[str, list[serving.Sample]]]]) -> None:
    """This machine's generated projects next to the guide's published figures.

    The guide's figures come from other hardware and other apps: compare the ordering and the
    gaps between frameworks, not the absolute numbers.
    """
    guide = load_guide()
    print(
        "| framework | /health req/s | guide: JSON req/s | one-row read req/s "
        "| guide: DB query req/s | RSS per worker | guide: memory per worker |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for framework, by_label in results.items():
        facts = guide.frameworks[framework]
        health = by_label["/health"]["generated"]
        read = by_label[serving.ONE_ROW_READ]["generated"]
        rss = statistics.median(s.rss_mb for s in health)
        print(
            f"| {facts.label} | {serving.median_rps(health):,.0f} | ~{facts.json_rps:,} "
            f"| {serving.median_rps(read):,.0f} | ~{facts.db_rps:,} | {rss:.0f} MB "
            f"| {facts.memory_per_worker_mb} MB |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Fewer, shorter rounds.")
    quick = parser.parse_args().quick
    if shutil.which("wrk") is None:
        sys.exit("benchmarks/all.py: wrk is not installed (Debian: apt-get install wrk)")
    runs, rounds, seconds = (3, 2, 3) if quick else (15, 6, 5)

    print("## Render and start-up\n")
    sys.stdout.flush()
    subprocess.run([sys.executable, str(HERE / "render.py"), "--runs", str(runs)], check=True)

    print("\n## Update and status\n")
    sys.stdout.flush()
    subprocess.run(
        [sys.executable, str(HERE / "lifecycle.py"), "--runs", str(min(runs, 7))], check=True
    )

    print("\n## Time to green\n")
    sys.stdout.flush()
    subprocess.run(
        [sys.executable, str(HERE / "time_to_green.py"), "--runs", str(min(runs, 3))], check=True
    )

    print("\n## Serving: generated project vs bare app\n")
    results = {}
    for framework in serving.TARGETS:
        results[framework] = serving.benchmark(framework, rounds, seconds, workers=2)
        serving.print_table(framework, results[framework])
        sys.stdout.flush()

    print("\n## The three frameworks side by side\n")
    side_by_side(results)


if __name__ == "__main__":
    main()
