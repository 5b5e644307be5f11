"""The numpy MiniLM against sentence-transformers' own vectors, and the OpenAI-compatible embedder."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tokenizers import Tokenizer

from server.rag.embed import make_embedder
from server.rag.embed.local import WEIGHTS_SHA256, LocalEmbedder, ModelIntegrityError, default_model_dir, load_model
from server.rag.embed.openai_embed import OpenAIEmbedder
from server.settings import EmbeddingSettings

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "minilm_reference.json"


def _settings(**kw: Any) -> EmbeddingSettings:
    base: dict[str, Any] = dict(
        backend="local", model="all-MiniLM-L6-v2", dim=384, batch_size=32, openai_base_url=None, openai_api_key=None
    )
    return EmbeddingSettings(**(base | kw))


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder.from_dir(batch_size=8)


# ---------------------------------------------------------------- local model


def test_matches_sentence_transformers(embedder: LocalEmbedder, reference: dict[str, Any]) -> None:
    assert reference["sha256"] == WEIGHTS_SHA256
    got = embedder.embed(reference["sentences"])
    want = np.asarray(reference["vectors"], dtype=np.float32)
    cosines = (got * want).sum(axis=1) / np.linalg.norm(want, axis=1)
    assert cosines.min() >= 0.999, dict(zip(reference["sentences"], cosines.round(6).tolist()))


def test_shape_dtype_and_unit_rows(embedder: LocalEmbedder) -> None:
    vectors = embedder.embed(["one", "two words", "a slightly longer third sentence"])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)
    assert (embedder.name, embedder.dim, embedder.max_tokens) == ("all-MiniLM-L6-v2", 384, 256)


def test_order_is_restored_after_length_sorting(embedder: LocalEmbedder) -> None:
    texts = ["short", "a much much longer sentence than the others here " * 3, "mid length text", "x"]
    together = LocalEmbedder(load_model(), batch_size=2).embed(texts)
    for i, text in enumerate(texts):
        np.testing.assert_allclose(together[i], embedder.embed([text])[0], atol=1e-5)


def test_batch_of_one_equals_batch_of_many(reference: dict[str, Any]) -> None:
    texts = reference["sentences"][:-1]  # everything but the 500-token one: still pads short texts to ~130
    many = LocalEmbedder(load_model(), batch_size=len(texts)).embed(texts)
    one = LocalEmbedder(load_model(), batch_size=1).embed(texts)
    np.testing.assert_allclose(one, many, atol=1e-5)


def test_truncates_at_256_tokens(embedder: LocalEmbedder, reference: dict[str, Any]) -> None:
    long = reference["sentences"][-1]
    assert embedder.count_tokens(long) > 300
    a, b = embedder.embed([long, long + " completely different words at the very end"])
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_count_tokens_matches_the_tokenizer(embedder: LocalEmbedder, reference: dict[str, Any]) -> None:
    tok = Tokenizer.from_file(str(default_model_dir() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    for text in reference["sentences"]:
        assert embedder.count_tokens(text) == len(tok.encode(text, add_special_tokens=False).ids)
    assert embedder.count_tokens("") == 0
    assert embedder.count_tokens("Hello world!") == 3


def test_tampered_weights_are_refused(tmp_path: Path) -> None:
    copy = shutil.copytree(default_model_dir(), tmp_path / "model")
    weights = copy / "model.safetensors"
    with weights.open("r+b") as f:
        f.seek(weights.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0x01]))
    with pytest.raises(ModelIntegrityError, match="checksum") as info:
        load_model(copy)
    assert WEIGHTS_SHA256 in str(info.value)


def test_factory_shares_weights_and_checks_settings() -> None:
    a, b = make_embedder(_settings()), make_embedder(_settings(batch_size=4))
    assert a._model is b._model  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="DOCMAN_EMBEDDING_DIM"):
        make_embedder(_settings(dim=768))
    with pytest.raises(ValueError, match="DOCMAN_EMBEDDING_MODEL"):
        make_embedder(_settings(model="bge-small-en"))


# ---------------------------------------------------------------- OpenAI-compatible endpoint


class _EmbeddingsServer(ThreadingHTTPServer):
    dim = 8
    requests: list[dict[str, Any]]


class _Handler(BaseHTTPRequestHandler):
    server: _EmbeddingsServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(t))] + [1.0] * (self.server.dim - 1)}
            for i, t in enumerate(body["input"])
        ]
        data.reverse()  # servers need not answer in order; the index field says where each row goes
        payload = json.dumps(
            {"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": 1, "total_tokens": 1}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture()
def endpoint() -> Iterator[_EmbeddingsServer]:
    server = _EmbeddingsServer(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _openai_settings(server: _EmbeddingsServer, dim: int) -> EmbeddingSettings:
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    return _settings(backend="openai", model="text-embed-test", dim=dim, batch_size=2, openai_base_url=url, openai_api_key="k")


def test_openai_embedder_batches_orders_and_normalises(endpoint: _EmbeddingsServer) -> None:
    embedder = make_embedder(_openai_settings(endpoint, dim=8))
    assert isinstance(embedder, OpenAIEmbedder)
    texts = ["a", "bb", "ccc", "dddd", ""]
    vectors = embedder.embed(texts)
    assert vectors.shape == (5, 8) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    raw = np.array([[max(len(t), 1)] + [1.0] * 7 for t in texts], dtype=np.float32)
    np.testing.assert_allclose(vectors, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6)
    assert [r["input"] for r in endpoint.requests] == [["a", "bb"], ["ccc", "dddd"], [" "]]
    assert {r["path"] for r in endpoint.requests} == {"/v1/embeddings"}
    assert {r["auth"] for r in endpoint.requests} == {"Bearer k"}
    assert {r["model"] for r in endpoint.requests} == {"text-embed-test"}
    assert embedder.count_tokens("12345678") == 3


def test_openai_embedder_rejects_wrong_dimension(endpoint: _EmbeddingsServer) -> None:
    embedder = make_embedder(_openai_settings(endpoint, dim=384))
    with pytest.raises(ValueError, match="DOCMAN_EMBEDDING_DIM=384") as info:
        embedder.embed(["hello"])
    assert "8-dimensional" in str(info.value)
