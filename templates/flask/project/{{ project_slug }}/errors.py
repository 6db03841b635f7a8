"""Errors as JSON for API clients and probes, and as pages for people."""

from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, InternalServerError


def wants_json() -> bool:
    if request.path.startswith(("/api/", "/health")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json"


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    code = error.code or 500
    if not wants_json():
        return render_template("errors/error.html", error=error), code
    body: dict[str, Any] = {"code": code, "name": error.name, "message": error.description}
    # Request validation (webargs, used by the API) attaches the failing fields here.
    messages = getattr(error, "data", {}).get("messages")
    if messages:
        body["errors"] = messages
    return jsonify(body), code, dict(getattr(error, "headers", None) or {})


def handle_unexpected_error(error: Exception) -> ResponseReturnValue:
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    return handle_http_error(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)
