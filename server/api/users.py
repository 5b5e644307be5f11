"""User administration (admins only): list, create, disable/enable, reset password, change role."""

from __future__ import annotations

import time
from uuid import UUID

from litestar import Response, get, post, put
from litestar.params import FromPath, JSONBody

from server import users as service
from server.auth.authenticate import auth_state
from server.auth.guards import ADMIN
from server.deps import RT, CallerDep
from server.runtime import Runtime
from shared import routes
from shared.models.auth import PasswordReset, RoleChange, User, UserCreate, UserList, UserWithPassword


def _forget(rt: Runtime, user_id: UUID, revoked: list[str]) -> None:
    """Apply the change to this process's token cache at once (other replicas within seconds)."""
    state = auth_state(rt)
    state.forget_user(user_id)
    state.revoke_local(revoked, time.time() + rt.settings.auth.access_ttl_seconds)


@get(routes.USERS, tags=["users"], opt=ADMIN)
async def list_users(rt: RT) -> UserList:
    """Every account, oldest first."""
    async with rt.pool.connection() as conn:
        return await service.list_users(conn)


@post(routes.USERS, tags=["users"], opt=ADMIN, status_code=201)
async def create_user(rt: RT, data: JSONBody[UserCreate]) -> UserWithPassword:
    """Create an account; without `password` one is generated and returned once."""
    async with rt.pool.connection() as conn:
        return await service.create_user(conn, data.email, data.role, data.password)


@get(routes.USER, tags=["users"], opt=ADMIN)
async def get_user(rt: RT, user_id: FromPath[UUID]) -> User:
    async with rt.pool.connection() as conn:
        return await service.get_user(conn, user_id)


@post(routes.USER_DISABLE, tags=["users"], opt=ADMIN, status_code=200)
async def disable_user(rt: RT, caller: CallerDep, user_id: FromPath[UUID]) -> User:
    """Disable an account and end its sessions (not your own, nor the last admin)."""
    async with rt.pool.connection() as conn:
        user, revoked = await service.set_disabled(conn, user_id, True, actor=caller.id,
                                                   access_ttl=rt.settings.auth.access_ttl_seconds)
    _forget(rt, user_id, revoked)
    return user


@post(routes.USER_ENABLE, tags=["users"], opt=ADMIN, status_code=200)
async def enable_user(rt: RT, user_id: FromPath[UUID]) -> User:
    """Enable an account; also unlocks one locked by failed sign-ins."""
    async with rt.pool.connection() as conn:
        user, _ = await service.set_disabled(conn, user_id, False, actor=None, access_ttl=0)
    _forget(rt, user_id, [])
    return user


@post(routes.USER_PASSWORD, tags=["users"], opt=ADMIN, status_code=200)
async def reset_password(rt: RT, user_id: FromPath[UUID], data: JSONBody[PasswordReset]) -> Response[UserWithPassword]:
    """Set a new password (generated and returned once without `password`); ends the user's sessions."""
    async with rt.pool.connection() as conn:
        result, revoked = await service.reset_password(conn, user_id, data.password,
                                                       access_ttl=rt.settings.auth.access_ttl_seconds)
    _forget(rt, user_id, revoked)
    return Response(result, headers={"Cache-Control": "no-store"})


@put(routes.USER_ROLE, tags=["users"], opt=ADMIN)
async def change_role(rt: RT, caller: CallerDep, user_id: FromPath[UUID], data: JSONBody[RoleChange]) -> User:
    """Change a role (user, operator, admin); applies to tokens already issued."""
    async with rt.pool.connection() as conn:
        user = await service.set_role(conn, user_id, data.role, actor=caller.id)
    _forget(rt, user_id, [])
    return user


HANDLERS = [list_users, create_user, get_user, disable_user, enable_user, reset_password, change_role]
