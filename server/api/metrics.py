"""GET /metrics: the Prometheus exposition."""

from __future__ import annotations

from litestar import Response, get

from server import metrics
from shared import routes


@get(routes.METRICS, include_in_schema=False, sync_to_thread=False)
def metrics_endpoint() -> Response[bytes]:
    body, content_type = metrics.render()
    return Response(content=body, media_type=content_type)
