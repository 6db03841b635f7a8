"""The Swagger UI and ReDoc pages, with the project's name escaped into their HTML.

FastAPI's own docs pages put the app's title into the page as it is, so a name holding `<` or
`&` would become markup. These are the same pages with the title escaped; the OpenAPI schema
keeps the name as written.
"""

from html import escape

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
OAUTH2_REDIRECT = "/docs/oauth2-redirect"


def schema_url(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/") + str(request.app.openapi_url)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=schema_url(request),
        title=escape(f"{request.app.title} - Swagger UI"),
        oauth2_redirect_url=OAUTH2_REDIRECT,
    )


@router.get(OAUTH2_REDIRECT)
async def swagger_ui_oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=schema_url(request), title=escape(f"{request.app.title} - ReDoc")
    )
