"""Tests that need a real server skip when it is down, unless CI requires it."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import require_service


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once the socket closes


def test_unreachable_service_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STACKWISE_REQUIRE_SERVICES", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{closed_port()}/test")

    with pytest.raises(pytest.skip.Exception, match="PostgreSQL is not reachable"):
        require_service("PostgreSQL", "DATABASE_URL", "unused")


def test_unreachable_service_fails_when_services_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STACKWISE_REQUIRE_SERVICES", "1")
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{closed_port()}/0")

    with pytest.raises(pytest.fail.Exception, match="forbids skipping"):
        require_service("Redis", "REDIS_URL", "unused")


def test_reachable_service_returns_its_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
        monkeypatch.setenv("REDIS_URL", url)

        assert require_service("Redis", "REDIS_URL", "unused") == url
