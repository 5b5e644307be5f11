"""Embeddings from any OpenAI-compatible `/embeddings` endpoint (OpenAI, vLLM, Ollama, TEI, ...)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import openai

from server.settings import EmbeddingSettings

TIMEOUT_SECONDS = 60.0
MAX_RETRIES = 3
MAX_TOKENS = 8191  # input limit of OpenAI's text-embedding-3 models; other servers may differ


class OpenAIEmbedder:
    """The `Embedder` over a remote endpoint: batched, L2-normalised, dimension-checked."""

    def __init__(self, cfg: EmbeddingSettings, *, timeout: float = TIMEOUT_SECONDS) -> None:
        if not cfg.openai_base_url:
            raise ValueError("DOCMAN_EMBEDDING_BASE_URL is required when DOCMAN_EMBEDDING_BACKEND=openai")
        if cfg.batch_size < 1:
            raise ValueError("DOCMAN_EMBEDDING_BATCH must be positive")
        self.name = cfg.model
        self.dim = cfg.dim
        self.max_tokens = MAX_TOKENS
        self.batch_size = cfg.batch_size
        self._client = openai.OpenAI(
            base_url=cfg.openai_base_url,
            api_key=cfg.openai_api_key or "none",
            timeout=timeout,
            max_retries=MAX_RETRIES,
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 (n, dim) unit rows in input order; one request per batch (blocking I/O)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            out[start : start + len(batch)] = self._embed_batch(batch)
        return out

    def _embed_batch(self, batch: Sequence[str]) -> np.ndarray:
        """One request; empty strings are sent as a space since several servers reject them."""
        inputs = [t if t.strip() else " " for t in batch]
        resp = self._client.embeddings.create(model=self.name, input=inputs, encoding_format="float")
        rows = sorted(resp.data, key=lambda d: d.index)
        if len(rows) != len(inputs):
            raise ValueError(f"embeddings endpoint returned {len(rows)} vectors for {len(inputs)} texts")
        vectors = np.asarray([r.embedding for r in rows], dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            got = vectors.shape[1] if vectors.ndim == 2 else "ragged"
            raise ValueError(
                f"model {self.name!r} returned {got}-dimensional vectors but DOCMAN_EMBEDDING_DIM={self.dim}; "
                "set DOCMAN_EMBEDDING_DIM to the model's dimension"
            )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, np.float32(1e-12))

    def count_tokens(self, text: str) -> int:
        """An approximation, len(text)//4 + 1: the remote tokenizer is unknown here."""
        return len(text) // 4 + 1
