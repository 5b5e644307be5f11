"""Who may call what: one access level per route handler, enforced by one guard.

A handler declares its level in `opt` (`@get(..., opt=OPERATOR)`); without one it needs any
signed-in user. `guarded` attaches the guard to every handler that is not public when the app is
built (public handlers have no guard, so Litestar skips its per-request guard work on probes),
and `check_levels` refuses to start if a non-public handler ended up without it. Levels: `public` (no token), `optional` (a token if sent must be valid;
handlers read the caller with `ViewerDep`), `user`, `operator` (operators and admins), `admin`.
The guard runs before the request body is read, so an anonymous or rate-limited upload is
refused without being received. Rate limits (server.auth.ratelimit) are applied here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from copy import copy
from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from server.auth.authenticate import auth_state, authenticate, client_address, optional_caller
from server.auth.caller import Caller
from server.auth.ratelimit import bucket_for
from server.errors import Forbidden

LEVELS = ("public", "optional", "user", "operator", "admin")
PUBLIC: dict[str, Any] = {"access": "public"}
OPTIONAL: dict[str, Any] = {"access": "optional"}
USER: dict[str, Any] = {"access": "user"}
OPERATOR: dict[str, Any] = {"access": "operator"}
ADMIN: dict[str, Any] = {"access": "admin"}


def access_level(handler: BaseRouteHandler) -> str:
    return str(handler.opt.get("access", "user"))


def require_role(caller: Caller, level: str) -> None:
    """403 unless the caller's role reaches `level` (user < operator < admin)."""
    if level == "operator" and not caller.is_operator:
        raise Forbidden(f"This needs the operator role; {caller.email} is a {caller.role}.", code="insufficient_role")
    if level == "admin" and caller.role != "admin":
        raise Forbidden(f"This needs the admin role; {caller.email} is a {caller.role}.", code="insufficient_role")


async def enforce_access(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The guard of every non-public handler (see the module docstring)."""
    method = connection.scope.get("method", "GET")
    level = access_level(handler)
    if level == "public" or method == "OPTIONS":
        return
    if level == "optional":
        await optional_caller(connection)  # a bad token is refused; the handler reads it with ViewerDep
        return
    caller = await authenticate(connection)
    require_role(caller, level)
    bucket = bucket_for(str(method), str(connection.scope.get("path_template") or connection.scope["path"]))
    if bucket is not None:
        auth_state(connection.app.state.rt).limiter.check_route(bucket, str(caller.id), client_address(connection))


def guarded(handlers: Iterable[Any]) -> list[Any]:
    """The route handlers, each non-public one a copy with `enforce_access` among its guards."""
    out = []
    for handler in handlers:
        if isinstance(handler, BaseRouteHandler) and access_level(handler) != "public":
            handler = copy(handler)  # the module-level handler stays as declared
            handler.guards = [*(handler.guards or ()), enforce_access]
        out.append(handler)
    return out


def check_levels(app: Litestar) -> None:
    """Refuse to start with an unknown access level (a typo is not public) or an unguarded handler."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            level = access_level(handler)
            if level not in LEVELS:
                raise ValueError(f"{handler} declares unknown access level {level!r}; use one of {LEVELS}")
            if level != "public" and not _only_options(handler) and enforce_access not in handler.resolve_guards():
                raise ValueError(f"{handler} is {level!r} but not guarded: register it through `guarded`")


def _only_options(handler: BaseRouteHandler) -> bool:
    """Litestar's automatic OPTIONS (CORS preflight) handlers: the guard lets OPTIONS through anyway."""
    return set(getattr(handler, "http_methods", ())) == {"OPTIONS"}
