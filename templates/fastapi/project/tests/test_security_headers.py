from collections.abc import AsyncIterator

import httpx2
import pytest

from app.core.config import Settings
from app.main import create_app

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "cross-origin-opener-policy": "same-origin",
}


@pytest.fixture
async def production_http(settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    """The production app, reached over plain HTTP as a client that skipped the proxy would."""
    production = settings.model_copy(update={"environment": "production"})
    transport = httpx2.ASGITransport(app=create_app(production))
    async with httpx2.AsyncClient(transport=transport, base_url="http://api.example.com") as client:
        yield client


@pytest.mark.parametrize("path", ["/health", "/docs", "/no-such-page"])
async def test_every_response_carries_the_security_headers(
    client: httpx2.AsyncClient, path: str
) -> None:
    response = await client.get(path)

    assert {name: response.headers.get(name) for name in EXPECTED} == EXPECTED
    assert "strict-transport-security" not in response.headers  # not outside production


async def test_production_adds_hsts(settings: Settings) -> None:
    production = settings.model_copy(update={"environment": "production"})
    transport = httpx2.ASGITransport(app=create_app(production))
    async with httpx2.AsyncClient(transport=transport, base_url="https://test") as client:
        response = await client.get("/health")

    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def test_production_redirects_a_plain_http_get_to_https(
    production_http: httpx2.AsyncClient,
) -> None:
    response = await production_http.get("/docs?x=1")

    assert response.status_code == 301
    assert response.headers["location"] == "https://api.example.com/docs?x=1"


async def test_production_refuses_other_plain_http_requests(
    production_http: httpx2.AsyncClient,
) -> None:
    response = await production_http.post("/items", json={"name": "lamp"})

    assert response.status_code == 403
    assert response.json()["code"] == "https_required"


async def test_production_probes_answer_over_plain_http(
    production_http: httpx2.AsyncClient,
) -> None:
    assert (await production_http.get("/health")).status_code == 200
    assert (await production_http.get("/health/ready")).status_code == 200
