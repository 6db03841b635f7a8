"""Generate projects and run their own gates in their own uv-managed virtual environments."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from uv import find_uv_bin

from tests.conftest import REPO_ROOT, require_service

UV = find_uv_bin()


def uv_environment() -> dict[str, str]:
    """One uv cache for every generated project, kept between runs so installs are warm."""
    cache = os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "stackwise-tests" / "uv")
    return {
        **os.environ,
        "UV_CACHE_DIR": cache,
        "UV_PYTHON_DOWNLOADS": "never",  # use this machine's Python, never fetch one
        "UV_NO_PROGRESS": "1",
        "VIRTUAL_ENV": "",  # the generated project's own .venv, not the one running pytest
    }


@dataclass
class GeneratedProject:
    path: Path
    answers: dict[str, object]

    def sync(self) -> None:
        self._run([UV, "sync", "--python", sys.executable], timeout=600)

    def python(self, code: str, env: Mapping[str, str] | None = None) -> str:
        return self.run("python", "-c", code, env=env)

    def run(self, *command: str, env: Mapping[str, str] | None = None) -> str:
        """Run a command inside the project's venv; fail the test with its output if it fails."""
        return self._run([UV, "run", "--no-sync", *command], env=env)

    def _run(self, command: list[str], env: Mapping[str, str] | None = None, timeout: int = 300) -> str:
        completed = subprocess.run(
            command,
            cwd=self.path,
            env={**uv_environment(), **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if completed.returncode != 0:
            pytest.fail(
                f"`{' '.join(command[2:] if command[0] == UV else command)}` failed in {self.path}"
                f" (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
            )
        return completed.stdout


@dataclass
class ProjectWithServices:
    """A generated project and the environment naming the real services its combination uses."""

    project: GeneratedProject
    env: dict[str, str]

    def run(self, *command: str, **extra_env: str) -> str:
        return self.project.run(*command, env={**self.env, **extra_env})

    def check_own_suite(self) -> None:
        output = self.run("pytest", "-q", "-p", "no:cacheprovider", "-rs")
        assert " passed" in output
        # With REDIS_URL given, the one real-broker test must run, not skip.
        assert "skipped" not in output

    def check_lint_format_and_types(self, *mypy_options: str) -> None:
        self.run("ruff", "check", "--no-cache", ".")
        self.run("ruff", "format", "--check", "--no-cache", ".")
        assert "Success" in self.run("mypy", *mypy_options, ".")

    def check_deployment_files(self) -> None:
        """hadolint on the Dockerfile and actionlint on the CI workflow."""
        path = self.project.path
        lint(["hadolint", "--failure-threshold", "info", str(path / "Dockerfile")])
        lint(["actionlint", str(path / ".github" / "workflows" / "ci.yml")])


def generate(copie_session, answers: Mapping[str, object]) -> GeneratedProject:  # type: ignore[no-untyped-def]
    result = copie_session.copy(extra_answers=dict(answers), template_dir=REPO_ROOT)
    if result.exception is not None:
        raise result.exception
    project = GeneratedProject(path=result.project_dir, answers=result.answers)
    project.sync()
    return project


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # report the redirect itself; tests assert on it


_opener = urllib.request.build_opener(_NoRedirects)


def http_get(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
    """GET a loopback URL without following redirects: (status, body)."""
    request = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310 (loopback)
    try:
        with _opener.open(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextmanager
def serving(
    project: GeneratedProject,
    command: list[str],
    port: int,
    env: Mapping[str, str] | None = None,
    output: list[str] | None = None,
) -> Iterator[str]:
    """Start the project's server, wait until /health answers, yield its base URL, stop it.

    Once it has stopped, what the server printed is appended to `output`, if given.
    """
    base_url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [UV, "run", "--no-sync", *command],
        cwd=project.path,
        env={**uv_environment(), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if http_get(f"{base_url}/health")[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                output = server.communicate()[0]
                pytest.fail(f"`{' '.join(command)}` never answered /health:\n{output}")
            time.sleep(0.2)
        yield base_url
    finally:
        server.terminate()
        try:
            printed = server.communicate(timeout=10)[0]
        except subprocess.TimeoutExpired:
            server.kill()
            printed = server.communicate()[0]
        if output is not None:
            output.append(printed)


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the real server for one generated project, dropped afterwards."""
    name = f"stackwise_{secrets.token_hex(6)}"
    server = server_url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def real_services(*, postgres: bool, redis: bool) -> Iterator[dict[str, str]]:
    """The environment a combination's gates run with: REDIS_URL, and a fresh DATABASE_URL."""
    env: dict[str, str] = {}
    if redis:
        env["REDIS_URL"] = require_service("Redis", "REDIS_URL", "redis://127.0.0.1:6379/0")
    if not postgres:
        yield env
        return
    server = require_service("PostgreSQL", "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    with fresh_postgres_database(server) as database_url:
        yield {**env, "DATABASE_URL": database_url}


def lint(command: list[str]) -> None:
    """Run a linter installed with this repository's test tools (hadolint, actionlint)."""
    tool = Path(sys.executable).parent / command[0]
    completed = subprocess.run(
        [str(tool), *command[1:]], capture_output=True, text=True, check=False, timeout=120
    )
    assert completed.returncode == 0, f"{command[0]} found problems:\n{completed.stdout}{completed.stderr}"
