"""Admin routes for webhooks: targets, their deliveries, and replays."""

from __future__ import annotations

from chalice import Blueprint, Response

from ..domain.limits import parse_page_size
from ..services import webhooks
from ..wiring import container
from .auth import require
from .http import JSON, json_object, json_response, query, route

bp = Blueprint(__name__)
BASE = "/v1/manage/webhooks"
NO_STORE = {"Cache-Control": "no-store"}


@route(bp, BASE, methods=["POST"], content_types=[JSON])
def create_webhook() -> Response:
    require(bp.current_request, "admin")
    created = webhooks.create(container().backend, json_object(bp.current_request))
    return json_response(created, 201, {**NO_STORE, "Location": f"{BASE}/{created['id']}"})


@route(bp, BASE, methods=["GET"])
def list_webhooks() -> Response:
    require(bp.current_request, "admin")
    return json_response({"items": webhooks.list_targets(container().backend)}, headers=NO_STORE)


@route(bp, f"{BASE}/{{webhook_id}}", methods=["DELETE"])
def delete_webhook(webhook_id: str) -> Response:
    require(bp.current_request, "admin")
    webhooks.delete(container().backend, webhook_id)
    return Response(body="", status_code=204)


@route(bp, f"{BASE}/deliveries", methods=["GET"])
def list_deliveries() -> Response:
    require(bp.current_request, "admin")
    limit = parse_page_size(query(bp.current_request).get("limit"), default=50, maximum=100)
    items = [d.view() for d in container().backend.webhook_log.list_deliveries(limit)]
    return json_response({"items": items}, headers=NO_STORE)


@route(bp, f"{BASE}/deliveries/{{delivery_id}}", methods=["GET"])
def get_delivery(delivery_id: str) -> Response:
    require(bp.current_request, "admin")
    delivery = webhooks.find(container().backend, delivery_id)
    return json_response({**delivery.view(), "payload": delivery.payload}, headers=NO_STORE)


@route(bp, f"{BASE}/deliveries/{{delivery_id}}/replay", methods=["POST"])
def replay_delivery(delivery_id: str) -> Response:
    require(bp.current_request, "admin")
    again = webhooks.replay(container().backend, delivery_id)
    return json_response(again.view(), 202, NO_STORE)
