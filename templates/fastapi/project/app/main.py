"""The ASGI application: `app.main:app`."""

from fastapi import FastAPI

from app.api import health
from app.core.config import get_settings


def create_app() -> FastAPI:
    settings = get_settings()
    application = FastAPI(title=settings.project_name)
    application.include_router(health.router)
    return application


app = create_app()
