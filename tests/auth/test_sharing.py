"""Private documents and sharing through collections, end to end."""

from __future__ import annotations

from typing import Any

from tests.conftest import Served, UserClient, upload, wait_for_status


async def _doc(user: UserClient, name: str, text: str) -> str:
    r = await upload(user.client, name, text.encode(), "text/plain")
    assert r.status_code == 202, r.text
    doc = await wait_for_status(user.client, r.json()["id"])
    assert doc["status"] == "ready"
    return str(doc["id"])


async def _ids(user: UserClient, scope: str = "all") -> set[str]:
    r = await user.client.get("/api/v1/documents/list", params={"scope": scope})
    assert r.status_code == 200, r.text
    return {d["id"] for d in r.json()["items"]}


async def _search(user: UserClient, query: str) -> set[str]:
    r = await user.client.post("/api/v1/search", json={"query": query, "mode": "lexical"})
    assert r.status_code == 200
    return {h["document_id"] for h in r.json()["results"]}


async def _reads(user: UserClient, doc_id: str) -> list[int]:
    return [(await user.client.get(p)).status_code for p in (
        f"/api/v1/documents/{doc_id}", f"/api/v1/documents/{doc_id}/content", f"/api/v1/documents/{doc_id}/pages/1")]


async def test_documents_are_private_until_shared(served: Served) -> None:
    alice = await served.make_user("alice@example.com")
    bob = await served.make_user("bob@example.com")
    carol = await served.make_user("carol@example.com")
    a_doc = await _doc(alice, "alice.txt", "Alice writes about zebrafish regeneration.")
    b_doc = await _doc(bob, "bob.txt", "Bob writes about zebrafish migration.")

    assert await _ids(bob) == {b_doc}
    assert await _reads(bob, a_doc) == [404, 404, 404]
    assert await _search(bob, "zebrafish") == {b_doc}

    created = await alice.client.post("/api/v1/collections", json={"name": "Fish", "description": "shared notes"})
    assert created.status_code == 201
    coll = created.json()["id"]
    assert (await alice.client.post(f"/api/v1/collections/{coll}/documents", json={"document_ids": [a_doc]})).status_code == 200
    shared = await alice.client.post(f"/api/v1/collections/{coll}/shares", json={"email": "bob@example.com"})
    assert shared.status_code == 200 and [s["email"] for s in shared.json()["shares"]] == ["bob@example.com"]

    assert await _ids(bob) == {a_doc, b_doc}
    assert await _ids(bob, "all-readable") == {a_doc, b_doc}
    assert await _ids(bob, "shared") == {a_doc}
    assert await _ids(bob, "own") == {b_doc}
    assert await _ids(alice, "shared") == set()
    assert await _reads(bob, a_doc) == [200, 200, 200]
    assert await _search(bob, "zebrafish") == {a_doc, b_doc}
    # Read-only: the recipient cannot delete, reprocess or re-share it.
    assert (await bob.client.delete(f"/api/v1/documents/{a_doc}")).json()["code"] == "not_owner"
    assert (await bob.client.post(f"/api/v1/documents/{a_doc}/reprocess")).status_code == 403
    own = (await bob.client.post("/api/v1/collections", json={"name": "Mine"})).json()["id"]
    readd = await bob.client.post(f"/api/v1/collections/{own}/documents", json={"document_ids": [a_doc]})
    assert readd.status_code == 404
    # The collection, as the recipient sees it.
    listed = (await bob.client.get("/api/v1/collections")).json()["items"]
    theirs = next(c for c in listed if c["id"] == coll)
    assert theirs["owned"] is False and theirs["owner_email"] == "alice@example.com" and theirs["share_count"] == 0
    detail = (await bob.client.get(f"/api/v1/collections/{coll}")).json()
    assert [d["id"] for d in detail["documents"]] == [a_doc] and detail["shares"] == []
    for attempt in (bob.client.post(f"/api/v1/collections/{coll}/shares", json={"email": "carol@example.com"}),
                    bob.client.delete(f"/api/v1/collections/{coll}/documents/{a_doc}"),
                    bob.client.delete(f"/api/v1/collections/{coll}")):
        assert (await attempt).status_code == 403
    # Someone it is not shared with sees nothing of it.
    assert await _reads(carol, a_doc) == [404, 404, 404]
    assert (await carol.client.get(f"/api/v1/collections/{coll}")).status_code == 404
    assert await _ids(carol) == set() and await _search(carol, "zebrafish") == set()

    assert (await alice.client.delete(f"/api/v1/collections/{coll}/shares/bob@example.com")).status_code == 204
    assert await _ids(bob) == {b_doc}
    assert await _reads(bob, a_doc) == [404, 404, 404]
    assert (await bob.client.get(f"/api/v1/collections/{coll}")).status_code == 404


async def test_sharing_errors(served: Served) -> None:
    alice = await served.make_user("alice@example.com")
    coll = (await alice.client.post("/api/v1/collections", json={"name": "A"})).json()["id"]
    dup = await alice.client.post("/api/v1/collections", json={"name": "a"})
    assert dup.status_code == 409 and dup.json()["code"] == "collection_exists"
    nobody = await alice.client.post(f"/api/v1/collections/{coll}/shares", json={"email": "nobody@example.com"})
    assert nobody.status_code == 404 and nobody.json()["code"] == "user_not_found"
    self_share = await alice.client.post(f"/api/v1/collections/{coll}/shares", json={"email": alice.email})
    assert self_share.status_code == 400
    admin_doc = (await upload(served.client, "admin.txt", b"the admin's own", "text/plain")).json()["id"]
    other = await alice.client.post(f"/api/v1/collections/{coll}/documents", json={"document_ids": [admin_doc]})
    assert other.status_code == 404  # admins' documents are private too
    assert (await alice.client.delete(f"/api/v1/collections/{coll}")).status_code == 204
    assert (await alice.client.get(f"/api/v1/collections/{coll}")).status_code == 404


async def test_operators_reprocess_any_document_but_do_not_read_it(served: Served) -> None:
    alice = await served.make_user("alice@example.com")
    operator = await served.make_user("olga@example.com", role="operator")
    doc = await _doc(alice, "a.txt", "private words")
    r: Any = await operator.client.post(f"/api/v1/documents/{doc}/reprocess")
    assert r.status_code == 202
    assert await _reads(operator, doc) == [404, 404, 404]
    assert doc not in await _ids(operator)
    assert (await operator.client.delete(f"/api/v1/documents/{doc}")).status_code == 404
    assert (await served.client.get(f"/api/v1/documents/{doc}")).status_code == 404  # nor the admin
