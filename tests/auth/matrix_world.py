"""The people and objects the permission matrix plays with, created on demand.

Actors: `anon` (no token), `alice` and `bob` (users), `olga` (operator), `adam` (admin). Objects
belong to an owner; `shared=True` asks for one in a collection the owner shared with bob.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import Served, upload, wait_for_status

_counter = itertools.count(1)
PASSWORD = "matrix-password-1"


@dataclass
class Actor:
    name: str
    role: str | None  # None: anonymous
    email: str
    client: httpx.AsyncClient
    password: str = PASSWORD
    user_id: str = ""


@dataclass
class Req:
    path: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    files: Any = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] | None = None


@dataclass
class World:
    served: Served
    actors: dict[str, Actor]
    bystander: str  # the email of a user who is none of the actors (a share recipient)
    shared: bool = False  # objects asked for are shared with bob
    _cache: dict[tuple[str, str, bool], str] = field(default_factory=dict)

    @classmethod
    async def create(cls, served: Served) -> World:
        actors = {"anon": Actor("anon", None, "", served.anon())}
        for name, role in (("alice", "user"), ("bob", "user"), ("olga", "operator"), ("adam", "admin")):
            user = await served.make_user(f"{name}@example.com", role=role, password=PASSWORD)
            actors[name] = Actor(name, role, user.email, user.client, user_id=user.id)
        zoe = await served.make_user("zoe@example.com", password=PASSWORD)
        return cls(served, actors, zoe.email)

    def owner_for(self, actor: Actor) -> Actor:
        """Whose objects an actor's own-object request uses: its own (alice's for anon)."""
        return self.actors["alice"] if actor.role is None else actor

    def n(self) -> int:
        return next(_counter)

    async def fresh_doc(self, owner: Actor, *, ready: bool = False) -> str:
        r = await upload(owner.client, f"m{self.n()}.txt", f"matrix document {self.n()} of {owner.name}".encode(),
                         "text/plain")
        assert r.status_code == 202, r.text
        doc_id = str(r.json()["id"])
        if ready:
            await wait_for_status(owner.client, doc_id, ("ready",))
        if self.shared:
            await self.fresh_coll(owner, docs=[doc_id])
        return doc_id

    async def doc(self, owner: Actor) -> str:
        """A ready document of `owner` (shared with bob when `self.shared`), made once."""
        key = ("doc", owner.name, self.shared)
        if key not in self._cache:
            self._cache[key] = await self.fresh_doc(owner, ready=True)
        return self._cache[key]

    async def fresh_coll(self, owner: Actor, docs: list[str] | None = None, share_with: str | None = None) -> str:
        r = await owner.client.post("/api/v1/collections", json={"name": f"c{self.n()}"})
        assert r.status_code == 201, r.text
        coll = str(r.json()["id"])
        if docs:
            added = await owner.client.post(f"/api/v1/collections/{coll}/documents", json={"document_ids": docs})
            assert added.status_code == 200, added.text
        recipients = [share_with] if share_with else []
        if self.shared:
            recipients.append(self.actors["bob"].email)
        for email in recipients:
            shared = await owner.client.post(f"/api/v1/collections/{coll}/shares", json={"email": email})
            assert shared.status_code == 200, shared.text
        return coll

    async def fresh_conv(self, owner: Actor) -> str:
        r = await owner.client.post("/api/v1/chat/conversations", json={"title": f"conv {self.n()}"})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def fresh_user(self) -> str:
        r = await self.served.client.post("/api/v1/users", json={"email": f"t{self.n()}@example.com",
                                                                  "password": PASSWORD})
        assert r.status_code == 201, r.text
        return str(r.json()["user"]["id"])

    async def tokens(self, owner: Actor) -> dict[str, str]:
        r = await self.actors["anon"].client.post("/api/v1/auth/token",
                                                  json={"username": owner.email, "password": owner.password})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def send(self, actor: Actor, method: str, template: str, req: Req) -> httpx.Response:
        path = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(req.path[m.group(1)]), template)
        return await actor.client.request(method, path, json=req.json, files=req.files, params=req.params,
                                          headers=req.headers)
