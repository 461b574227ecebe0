"""Structured JSON logs and CloudWatch EMF metrics (Powertools), wired as Chalice middleware.

Logs carry the request id, method, route, status and duration; never headers or bodies, so
no key or secret reaches them. The object-event function emits EMF metrics: events handled,
handling latency, failures, and sends to the dead-letter queue (a failure on the last
receive). Powertools is imported on first use, not at cold start.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from chalice import Response
from chalice.app import Request, SQSEvent

SERVICE = "headless-cms"
NAMESPACE = "HeadlessCMS"

_logger: Any = None
_metrics: Any = None


def logger() -> Any:
    global _logger
    if _logger is None:
        from aws_lambda_powertools import Logger

        _logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE))
    return _logger


def metrics() -> Any:
    global _metrics
    if _metrics is None:
        from aws_lambda_powertools import Metrics

        _metrics = Metrics(
            namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE),
            service=os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE),
        )
    return _metrics


def _request_id(event: Request) -> str | None:
    context = getattr(event, "lambda_context", None)
    found = getattr(context, "aws_request_id", None) if context is not None else None
    return found or (event.context or {}).get("requestId")


def http_logging(event: Request, get_response: Callable[[Request], Response]) -> Response:
    start = time.perf_counter()
    response = get_response(event)
    status = response.status_code
    fields = {
        "request_id": _request_id(event),
        "method": event.method,
        "route": (event.context or {}).get("resourcePath"),
        "status": status,
        "duration_ms": round((time.perf_counter() - start) * 1000, 2),
    }
    log = logger()
    if status >= 500:
        log.error("request failed", extra=fields)
    elif status >= 400:
        log.debug("request refused", extra=fields)
    else:
        log.debug("request", extra=fields)
    return response


def _receive_count(event: SQSEvent) -> int:
    counts = [
        int(record.to_dict().get("attributes", {}).get("ApproximateReceiveCount", "1"))
        for record in event
    ]
    return max(counts, default=1)


def sqs_metrics(event: SQSEvent, get_response: Callable[[SQSEvent], Any]) -> Any:
    from aws_lambda_powertools.metrics import MetricUnit

    from .event_handlers import max_receives

    recorder = metrics()
    start = time.perf_counter()
    messages = sum(1 for _ in event)
    try:
        result = get_response(event)
    except Exception:
        recorder.add_metric(name="ObjectEventFailures", unit=MetricUnit.Count, value=messages)
        if _receive_count(event) >= max_receives():
            recorder.add_metric(name="DeadLetterSends", unit=MetricUnit.Count, value=messages)
        raise
    else:
        recorder.add_metric(name="ObjectEvents", unit=MetricUnit.Count, value=messages)
        return result
    finally:
        elapsed = (time.perf_counter() - start) * 1000
        recorder.add_metric(name="ObjectEventLatency", unit=MetricUnit.Milliseconds, value=elapsed)
        recorder.flush_metrics()
