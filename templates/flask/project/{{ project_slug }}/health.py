"""Operational endpoints for load balancers and orchestrators."""

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
def health() -> ResponseReturnValue:
    """Liveness: the process is up and serving requests."""
    return jsonify(status="ok")
