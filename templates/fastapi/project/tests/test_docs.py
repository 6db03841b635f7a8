from html import escape

import httpx2

from app import about


async def test_the_schema_names_the_project_as_written(client: httpx2.AsyncClient) -> None:
    response = await client.get("/openapi.json")

    assert response.json()["info"]["title"] == about.NAME
    assert response.json()["info"]["description"] == about.DESCRIPTION


async def test_the_docs_pages_show_the_name_as_text(client: httpx2.AsyncClient) -> None:
    for path in ("/docs", "/redoc"):
        response = await client.get(path)

        assert response.status_code == 200
        assert escape(about.NAME) in response.text
