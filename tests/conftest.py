"""Shared test helpers: the repository root and running the CLI in-process."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from stackwise.cli import main

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Template versions go to a store of this run's, never the user's data directory."""
    path = tmp_path_factory.mktemp("store") / "templates.git"
    os.environ["STACKWISE_TEMPLATE_STORE"] = str(path)
    return path


@pytest.fixture(autouse=True, scope="session")
def shared_uv_cache() -> None:
    """One uv cache for every project the tests lock and install, kept between runs so they are
    warm: `$UV_CACHE_DIR` if set, otherwise ~/.cache/stackwise-tests/uv."""
    default = Path.home() / ".cache" / "stackwise-tests" / "uv"
    os.environ.setdefault("UV_CACHE_DIR", str(default))


@pytest.fixture(autouse=True, scope="session")
def no_user_configuration(tmp_path_factory: pytest.TempPathFactory) -> None:
    """No team configuration of the machine's user reaches the tests; each test brings its own."""
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config-home"))
    os.environ.pop("STACKWISE_CONFIG", None)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Call `stackwise ARGS...` in this process and capture what it printed."""

    def run(*args: str) -> CliResult:
        exit_code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(exit_code, captured.out, captured.err)

    return run


def require_service(name: str, env_var: str, default_url: str) -> str:
    """URL of a real server the test needs: skip when it is down, fail if CI requires it."""
    url = os.environ.get(env_var, default_url)
    parsed = urlsplit(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 0), timeout=2
        ):
            pass
    except OSError as error:
        reason = f"{name} is not reachable at {url} ({error}); set {env_var} to a running server"
        if os.environ.get("STACKWISE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}. STACKWISE_REQUIRE_SERVICES=1 forbids skipping.")
        pytest.skip(reason)
    return url


@pytest.fixture
def postgres_url() -> str:
    return require_service(
        "PostgreSQL", "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )


@pytest.fixture
def redis_url() -> str:
    return require_service("Redis", "REDIS_URL", "redis://127.0.0.1:6379/0")
