"""GET /metrics: the Prometheus exposition.

Public when DOCMAN_METRICS_PUBLIC=true (the default: bind the API privately, or let Prometheus
scrape it over the internal network); otherwise an operator's bearer token is required
(Prometheus: `authorization: {type: Bearer, credentials_file: /etc/prometheus/docman-token}`).
"""

from __future__ import annotations

from litestar import Response, get
from litestar.datastructures import State

from server import metrics
from server.auth.authenticate import token_error
from server.auth.guards import OPTIONAL, require_role
from server.deps import ViewerDep
from shared import routes


@get(routes.METRICS, include_in_schema=False, opt=OPTIONAL)
async def metrics_endpoint(state: State, viewer: ViewerDep) -> Response[bytes]:
    if not state.rt.settings.server.metrics_public:
        if viewer is None:
            raise token_error("token_missing")
        require_role(viewer, "operator")
    body, content_type = metrics.render()
    return Response(content=body, media_type=content_type)
