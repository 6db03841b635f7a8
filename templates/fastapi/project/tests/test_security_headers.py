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
