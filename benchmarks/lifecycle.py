"""Time `stackwise update` and `stackwise status` against plain copier on the same project.

One project is generated from a template version and committed, with an edit of its owner's;
a second version changes two files and adds one. Each round copies that project afresh for
each tool, in alternating order, and times a fresh process:

- `stackwise update --to NEW` against `copier update --trust --defaults --vcs-ref NEW`;
- `stackwise status` with its render cache warm, and with it off, against
  `copier update --pretend` (the same update, rendered and merged but not written), and
  against `copier copy` of the recorded version with the recorded answers (one render, the
  least a comparison with the template can cost without a cache).

Both tools read the two versions from one template store (a temporary one), plain copier
through the same `insteadOf` redirect stackwise uses. Ratios are the median of the rounds' own
ratios, with the lowest and highest in brackets.

    python benchmarks/lifecycle.py [--runs 7] [--framework django]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OLD, NEW = "1000.0.0", "1000.1.0"
OWNER_LINE = "Our on-call rota lives in the wiki."


def release(work: Path, version: str, change: Callable[[Path], None] | None = None) -> str:
    """The built-in template, changed by `change`, stored as `v<version>`."""
    from stackwise import store

    root = work / f"template-{version}"
    root.mkdir()
    shutil.copy(REPO_ROOT / "copier.yml", root)
    shutil.copytree(REPO_ROOT / "templates", root / "templates")
    if change:
        change(root / "templates")
    return store.add_version(root, version)


def next_release(templates: Path) -> None:
    """What a small template release looks like: two files changed, one added."""
    gitignore = templates / "_shared" / "gitignore.jinja"
    gitignore.write_text(gitignore.read_text() + "\n# the new release ignores these too\n*.log\n")
    for readme in templates.glob("*/project/README.md.jinja"):
        readme.write_text(readme.read_text() + "\n## Releases\n\nSee CHANGELOG.md.\n")
        (readme.parent / "CHANGELOG.md").write_text("# Changelog\n")


def git(project: Path, *args: str) -> None:
    identity = ["-c", "user.name=Owner", "-c", "user.email=owner@example.com"]
    subprocess.run(["git", *identity, *args], cwd=project, check=True, capture_output=True)


def generate(work: Path, tag: str, framework: str) -> Path:
    """A project rendered at `tag` and committed, then edited and committed by its owner."""
    import copier

    from stackwise import store

    project = work / "project"
    with store.redirected_to_store():
        copier.run_copy(
            store.TEMPLATE_URL,
            project,
            data={"framework": framework},
            defaults=True,
            quiet=True,
            vcs_ref=tag,
        )
    git(project, "init", "-q")
    git(project, "add", "--all")
    git(project, "commit", "-q", "-m", "Generate project")
    readme = project / "README.md"
    title, _, rest = readme.read_text().partition("\n")
    readme.write_text(f"{title}\n\n{OWNER_LINE}\n{rest}")
    git(project, "commit", "-q", "-am", "Owner notes")
    return project


def plain_copier_env() -> dict[str, str]:
    """The environment stackwise gives copier: the template URL read from the store."""
    from stackwise import store

    with store.redirected_to_store():
        from plumbum import local

        return {**os.environ, **dict(local.env)}


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{completed.stdout}{completed.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--framework", default="django", choices=("django", "flask", "fastapi"))
    options = parser.parse_args()
    from stackwise import store

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        os.environ["STACKWISE_TEMPLATE_STORE"] = str(work / "store" / "templates.git")
        os.environ["STACKWISE_RENDER_CACHE"] = str(work / "renders")
        old = release(work, OLD)
        new = release(work, NEW, next_release)
        project = generate(work, old, options.framework)
        copier_env = plain_copier_env()
        stackwise_env = dict(os.environ)
        uncached_env = {**stackwise_env, "STACKWISE_RENDER_CACHE": "off"}
        copier_update = [str(BIN / "copier"), "update", "--quiet", "--defaults", "--trust"]
        copier_update += ["--conflict", "inline", "--vcs-ref", new]
        stackwise = str(BIN / "stackwise")
        # One render of the recorded version with the recorded answers, into a new directory:
        # what `status` does when its cache does not hold the render.
        copier_copy = [str(BIN / "copier"), "copy", "--quiet", "--defaults", "--vcs-ref", old]
        copier_copy += ["--data-file", str(project / ".copier-answers.yml"), store.TEMPLATE_URL]
        # name: (command, environment, where it runs: "project" as it is, "copy" a fresh copy
        # of it, "new" a directory it creates)
        commands = {
            "stackwise update": ([stackwise, "update", ".", "--to", new], stackwise_env, "copy"),
            "copier update": ([*copier_update, "."], copier_env, "copy"),
            "stackwise status": ([stackwise, "status", "."], stackwise_env, "project"),
            "stackwise status, cache off": ([stackwise, "status", "."], uncached_env, "project"),
            "copier update --pretend": ([*copier_update, "--pretend", "."], copier_env, "project"),
            "copier copy of the recorded version": ([*copier_copy, "."], copier_env, "new"),
        }
        timed(commands["stackwise status"][0], project, stackwise_env)  # fills the cache
        times: dict[str, list[float]] = {name: [] for name in commands}
        for run in range(options.runs):
            order = list(commands) if run % 2 == 0 else list(reversed(commands))
            for name in order:
                command, env, where = commands[name]
                target = project if where == "project" else work / f"{where}-{run}"
                if where == "copy":
                    shutil.copytree(project, target, symlinks=True)
                elif where == "new":
                    target.mkdir()
                times[name].append(timed(command, target, env))
                if target != project:
                    shutil.rmtree(target)

    print(f"| {options.framework}: median of {options.runs} | stackwise | copier | ratio (range) |")
    print("|---|---:|---:|---:|")
    for own, theirs in (
        ("stackwise update", "copier update"),
        ("stackwise status", "copier update --pretend"),
        ("stackwise status, cache off", "copier update --pretend"),
        ("stackwise status", "copier copy of the recorded version"),
        ("stackwise status, cache off", "copier copy of the recorded version"),
    ):
        ratios = [a / b for a, b in zip(times[own], times[theirs], strict=True)]
        print(
            f"| `{own}` vs `{theirs}` | {statistics.median(times[own]):.3f} s "
            f"| {statistics.median(times[theirs]):.3f} s | {statistics.median(ratios):.2f} "
            f"({min(ratios):.2f}-{max(ratios):.2f}) |"
        )


if __name__ == "__main__":
    main()
