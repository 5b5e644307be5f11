"""Dependency providers for route handlers.

Access levels are declared on handlers (`opt=OPERATOR`, see server.auth.guards) and enforced by
the app-wide guard before the handler runs; these providers hand the handler the identity.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from server.auth.authenticate import authenticate, optional_caller
from server.auth.caller import Caller
from server.runtime import Runtime


async def provide_rt(state: State) -> Runtime:
    return state.rt  # type: ignore[no-any-return]


async def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    """The caller behind the request's bearer token; 401 (token_missing, token_invalid, ...) otherwise."""
    return await authenticate(request)


async def provide_viewer(request: Request[Any, Any, Any]) -> Caller | None:
    """For `optional` routes: the caller when a token was sent (it must be valid), else None."""
    return await optional_caller(request)


RT = NamedDependency[Runtime]
CallerDep = NamedDependency[Caller]
ViewerDep = NamedDependency[Caller | None]
