"""How the permission matrix calls each endpoint: one small builder per kind of request.

A builder gets the world and the owner whose objects to use, and returns the request's path
parameters, body, query and headers (`Req`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.auth.matrix_world import Actor, Req, World

Call = Callable[[World, Actor], Awaitable[Req]]


async def nothing(w: World, owner: Actor) -> Req:
    return Req()


def with_doc(**extra: object) -> Call:
    async def call(w: World, owner: Actor) -> Req:
        return Req(path={"document_id": await w.doc(owner), **extra})
    return call


async def fresh_doc(w: World, owner: Actor) -> Req:
    return Req(path={"document_id": await w.fresh_doc(owner)})


async def own_coll(w: World, owner: Actor) -> Req:
    return Req(path={"collection_id": await w.fresh_coll(owner, docs=[await w.doc(owner)])})


async def coll_add_doc(w: World, owner: Actor) -> Req:
    return Req(path={"collection_id": await w.fresh_coll(owner)}, json={"document_ids": [await w.doc(owner)]})


async def coll_remove_doc(w: World, owner: Actor) -> Req:
    doc = await w.doc(owner)
    return Req(path={"collection_id": await w.fresh_coll(owner, docs=[doc]), "document_id": doc})


async def coll_share(w: World, owner: Actor) -> Req:
    return Req(path={"collection_id": await w.fresh_coll(owner)}, json={"email": w.bystander})


async def coll_unshare(w: World, owner: Actor) -> Req:
    coll = await w.fresh_coll(owner, share_with=w.bystander)
    return Req(path={"collection_id": coll, "email": w.bystander})


async def new_coll(w: World, owner: Actor) -> Req:
    return Req(json={"name": f"new {w.n()}"})


async def upload_body(w: World, owner: Actor) -> Req:
    return Req(files={"file": (f"u{w.n()}.txt", f"upload {w.n()}".encode(), "text/plain")})


async def search_body(w: World, owner: Actor) -> Req:
    return Req(json={"query": "matrix document", "mode": "lexical"})


async def login(w: World, owner: Actor) -> Req:
    return Req(json={"username": owner.email, "password": owner.password})


async def refresh(w: World, owner: Actor) -> Req:
    return Req(json={"refresh_token": (await w.tokens(owner))["refresh_token"]})


async def logout(w: World, owner: Actor) -> Req:
    """Sign out a second sign-in (the actor's own token must keep working for the other rows)."""
    pair = await w.tokens(owner)
    return Req(json={"refresh_token": pair["refresh_token"]}, headers={"Authorization": f"Bearer {pair['access_token']}"})


async def logout_anon(w: World, owner: Actor) -> Req:
    """Anonymous sign-out: only a refresh token (an expired access token is no obstacle)."""
    return Req(json={"refresh_token": (await w.tokens(owner))["refresh_token"]})


async def new_user(w: World, owner: Actor) -> Req:
    return Req(json={"email": f"n{w.n()}@example.com", "password": "new-user-password"})


def fresh_user(body: object = None) -> Call:
    async def call(w: World, owner: Actor) -> Req:
        return Req(path={"user_id": await w.fresh_user()}, json=body)
    return call


def fixed(json: object = None, **path: object) -> Call:
    async def call(w: World, owner: Actor) -> Req:
        return Req(path=dict(path), json=json)
    return call


def query(**params: object) -> Call:
    async def call(w: World, owner: Actor) -> Req:
        return Req(params=dict(params))
    return call


def with_conv(body: object = None) -> Call:
    async def call(w: World, owner: Actor) -> Req:
        return Req(path={"conversation_id": await w.fresh_conv(owner)}, json=body)
    return call


async def ops_doc(w: World, owner: Actor) -> Req:
    return Req(path={"document_id": await w.doc(w.actors["alice"])})
