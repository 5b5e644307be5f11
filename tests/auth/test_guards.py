"""The guard is attached to every handler that is not public, and only to those."""

from __future__ import annotations

import pytest
from litestar import Litestar, get

from server.app import create_app
from server.auth.guards import PUBLIC, access_level, check_levels, enforce_access, guarded
from server.settings import load_settings
from tests.conftest import settings_env


def test_every_non_public_handler_is_guarded_and_public_ones_are_not(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(load_settings(settings_env(tmp_path)), conninfo="postgresql://unused")
    seen = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if set(handler.http_methods) == {"OPTIONS"}:
                continue
            guards = handler.resolve_guards()
            seen.add(access_level(handler))
            assert (enforce_access in guards) == (access_level(handler) != "public"), (route.path, guards)
    assert {"public", "optional", "user", "operator", "admin"} <= seen


def test_an_unguarded_handler_refuses_to_start() -> None:
    @get("/open", sync_to_thread=False)
    def forgotten() -> str:
        return "oops"

    @get("/fine", sync_to_thread=False, opt=PUBLIC)
    def fine() -> str:
        return "ok"

    with pytest.raises(ValueError, match="not guarded"):
        check_levels(Litestar(route_handlers=[forgotten, fine], openapi_config=None))
    check_levels(Litestar(route_handlers=guarded([forgotten, fine]), openapi_config=None))
    assert forgotten.guards is None  # the module-level handler is left as declared
