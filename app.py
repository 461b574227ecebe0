"""The Chalice app: blueprints and middleware only; the logic lives in chalicelib/."""

from chalicelib.api import (
    admin,
    batch,
    delivery,
    editor,
    event_handlers,
    feeds,
    live_preview,
    management,
    media,
    openapi,
    previews,
    webhooks,
)
from chalicelib.api.app_class import ThreadSafeChalice
from chalicelib.api.middleware import (
    authenticate_before_415,
    deliver_local_events,
    problem_middleware,
)
from chalicelib.api.observability import http_logging, sqs_metrics
from chalicelib.local_server import tune_chalice_local

tune_chalice_local()  # `chalice local` only: kept-alive clients without the 40 ms stall

app = ThreadSafeChalice(app_name="headless-cms")  # each chalice local thread: its own request
app.api.binary_types.extend(t for t in media.BINARY_TYPES if t not in app.api.binary_types)
app.binary_needs_accept = media.binary_needs_accept  # type: ignore[method-assign]
app.register_middleware(http_logging, "http")
app.register_middleware(problem_middleware, "http")  # every error is problem+json
app.register_middleware(authenticate_before_415, "http")  # 401 before 415
app.register_middleware(sqs_metrics, "sqs")
app.register_middleware(deliver_local_events, "http")
app.register_blueprint(delivery.bp)
app.register_blueprint(management.bp)
app.register_blueprint(batch.bp)  # POST /v1/manage/batch/{collection}
app.register_blueprint(media.bp)
app.register_blueprint(admin.bp)
app.register_blueprint(feeds.bp)
app.register_blueprint(webhooks.bp)
app.register_blueprint(previews.bp)  # /v1/manage/previews
app.register_blueprint(live_preview.bp)  # POST /v1/manage/render
app.register_blueprint(editor.bp)  # /admin
app.register_blueprint(openapi.bp)
app.register_blueprint(event_handlers.bp)
