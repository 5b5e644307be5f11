"""Health endpoints, as the operators' guide shows them."""

from __future__ import annotations

import msgspec
from litestar import Response, get
from litestar.datastructures import State

from server import health
from server.auth.guards import OPTIONAL, PUBLIC
from server.deps import ViewerDep
from shared import routes
from shared.models.health import DependencyHealth, Liveness, Readiness

_LIVE = Liveness()


@get(routes.HEALTH_LIVE, sync_to_thread=False, tags=["health"], opt=PUBLIC, security=[{}])
def live() -> Liveness:
    """The process answers. Touches no dependency."""
    return _LIVE


@get(routes.HEALTH_READY, tags=["health"], opt=PUBLIC, security=[{}])
async def ready(state: State) -> Response[Readiness]:
    """200 only when the database answers, migrations are current and the vector index is loaded."""
    result = await health.readiness(state.rt)
    return Response(result, status_code=200 if result.status == "ready" else 503)


@get(routes.HEALTH_DEPENDENCIES, tags=["health"], opt=OPTIONAL)
async def dependencies(state: State, viewer: ViewerDep) -> Response[DependencyHealth]:
    """Every component's status; the overall status is the worst component's.

    Without a token: status, version, timestamp and components. Operators also get `details`.
    """
    result = await health.dependencies(state.rt)
    if viewer is None or not viewer.is_operator:
        result = msgspec.structs.replace(result, details={})
    code = 503 if result.status in ("error", "timeout", "unavailable", "auth_failed") else 200
    return Response(result, status_code=code)
