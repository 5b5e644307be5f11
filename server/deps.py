"""Dependency providers for route handlers."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency

from server.auth.caller import Caller
from server.errors import ServiceUnavailable
from server.runtime import Runtime


async def provide_rt(state: State) -> Runtime:
    return state.rt  # type: ignore[no-any-return]


async def provide_caller(state: State) -> Caller:
    """Until token authentication is configured, every request acts as the first admin."""
    rt: Runtime = state.rt
    owner = rt.extras.get("default_owner")
    if owner is None:
        raise ServiceUnavailable("The server is still starting; try again in a moment.", code="starting")
    return Caller(id=owner, email=rt.settings.auth.admin_email, role="admin")


RT = NamedDependency[Runtime]
CallerDep = NamedDependency[Caller]
