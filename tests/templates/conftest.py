"""Generate projects and run their own gates in their own uv-managed virtual environments."""

from __future__ import annotations

import json
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

    def run_failing(self, *command: str, env: Mapping[str, str] | None = None) -> str:
        """Run a command that must fail; return what it printed."""
        return self._run([UV, "run", "--no-sync", *command], env=env, must_fail=True)

    def _run(
        self,
        command: list[str],
        env: Mapping[str, str] | None = None,
        timeout: int = 300,
        must_fail: bool = False,
    ) -> str:
        completed = subprocess.run(
            command,
            cwd=self.path,
            env={**uv_environment(), **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if must_fail:
            assert completed.returncode != 0, f"`{command[3:]}` succeeded:\n{completed.stdout}"
            return completed.stdout + completed.stderr
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

    def check_bandit(self) -> None:
        """bandit over the project's code: no medium or high finding, and no hard-coded password
        (B105-B107, which bandit rates low) anywhere but the tests."""
        bandit = str(Path(sys.executable).parent / "bandit")
        completed = subprocess.run(
            [bandit, "-r", ".", "-f", "json", "-q", "--exclude", "./.venv,./tests"],
            cwd=self.project.path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        report = json.loads(completed.stdout)  # bandit exits 1 on any finding, even a low one
        findings = [
            f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
            for r in report["results"]
            if r["issue_severity"] in ("MEDIUM", "HIGH") or r["test_id"] in HARDCODED_PASSWORD
        ]
        assert not findings, "\n".join(findings)
        assert report["metrics"]["_totals"]["loc"] > 100  # it read the project's code

    def check_deployment_files(self) -> None:
        """hadolint on the Dockerfile and actionlint on the CI workflow."""
        path = self.project.path
        lint(["hadolint", "--failure-threshold", "info", str(path / "Dockerfile")])
        lint(["actionlint", str(path / ".github" / "workflows" / "ci.yml")])


HARDCODED_PASSWORD = {"B105", "B106", "B107"}


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
    status, _, body = http_response(url, headers)
    return status, body


def http_response(
    url: str, headers: Mapping[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """GET a loopback URL without following redirects: (status, lower-cased headers, body)."""
    request = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310 (loopback)
    try:
        with _opener.open(request, timeout=5) as response:
            return response.status, _lower(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers), error.read()


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


# What a browser needs from a production response, whatever the framework.
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": ("DENY", "SAMEORIGIN"),
    "referrer-policy": None,  # any policy
    "strict-transport-security": None,
}


def assert_security_headers(headers: Mapping[str, str]) -> None:
    for name, expected in SECURITY_HEADERS.items():
        assert name in headers, f"{name} missing from {sorted(headers)}"
        if isinstance(expected, str):
            assert headers[name] == expected
        elif expected is not None:
            assert headers[name].upper() in expected
    assert "max-age=" in headers["strict-transport-security"]


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
