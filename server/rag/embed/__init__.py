"""Embedders: one small protocol, one factory that picks the backend from settings.

`local` is the bundled all-MiniLM-L6-v2 in numpy (offline); `openai` is any OpenAI-compatible
`/embeddings` endpoint. Backends are imported lazily so that choosing one never loads the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from server.settings import EmbeddingSettings

__all__ = ["Embedder", "make_embedder"]

_LOCAL_NAMES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


class Embedder(Protocol):
    """Turns texts into unit vectors; synchronous and CPU- or I/O-bound (call it in a thread)."""

    name: str
    dim: int
    max_tokens: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 array (len(texts), dim) with L2-normalised rows, in input order."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens in `text`, without special tokens, as the model's tokenizer counts them."""
        ...


def make_embedder(cfg: EmbeddingSettings) -> Embedder:
    """The embedder `cfg` asks for; the local model's weights are loaded once per process."""
    if cfg.backend == "local":
        from server.rag.embed.local import LocalEmbedder, load_model

        if cfg.model.strip().lower() not in _LOCAL_NAMES:
            raise ValueError(
                f"DOCMAN_EMBEDDING_MODEL={cfg.model!r}: the local backend only bundles all-MiniLM-L6-v2; "
                "use DOCMAN_EMBEDDING_BACKEND=openai for other models"
            )
        model = load_model()
        if cfg.dim != model.dim:
            raise ValueError(
                f"DOCMAN_EMBEDDING_DIM={cfg.dim} does not match all-MiniLM-L6-v2, whose vectors have {model.dim} dimensions"
            )
        return LocalEmbedder(model, cfg.batch_size)
    if cfg.backend == "openai":
        from server.rag.embed.openai_embed import OpenAIEmbedder

        return OpenAIEmbedder(cfg)
    raise ValueError(f"DOCMAN_EMBEDDING_BACKEND={cfg.backend!r}: must be local or openai")
