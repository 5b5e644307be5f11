"""`docman ops eval-retrieval`: the metrics by hand, BEIR loading, and a run on a tiny BEIR folder."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest

from ops import beir
from ops.eval_retrieval import register

# Ten topics with three documents each; each query asks about one document of its topic.
TOPICS = [
    ("volcano", "magma", "eruption"), ("glacier", "ice", "melting"), ("coral", "reef", "bleaching"),
    ("bee", "pollen", "hive"), ("comet", "tail", "orbit"), ("tea", "leaf", "oxidation"),
    ("violin", "string", "bow"), ("bread", "yeast", "dough"), ("tide", "moon", "gravity"),
    ("cactus", "spine", "desert"),
]


def test_ndcg_by_hand() -> None:
    relevant = {"a": 1, "b": 1}
    # relevant documents at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5); ideal = 1 + 1/log2(3)
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert beir.ndcg_at_k(["x", "a", "y", "b"], relevant, 10) == pytest.approx(expected)
    assert beir.ndcg_at_k(["x", "a", "y", "b"], relevant, 10) == pytest.approx(0.6509209)
    assert beir.ndcg_at_k(["a", "b"], relevant) == pytest.approx(1.0)
    assert beir.ndcg_at_k(["x"] * 10 + ["a"], relevant, 10) == 0.0  # beyond the cut-off
    graded = {"a": 2, "b": 1}  # linear gains, as trec_eval
    assert beir.ndcg_at_k(["b", "a"], graded) == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))


def test_recall_and_mean_scores() -> None:
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}}
    rankings = {"q1": ["a", "x", "b"], "q2": ["x"] * 10 + ["c"]}
    assert beir.recall_at_k(rankings["q1"], qrels["q1"], 2) == 0.5
    scores = beir.score(rankings, qrels)
    assert scores["recall@10"] == pytest.approx((1.0 + 0.0) / 2)
    assert scores["recall@100"] == pytest.approx(1.0)
    assert scores["queries"] == 2


def test_dedupe_ranking_keeps_each_document_at_its_best_chunk() -> None:
    hits = [(["d1"], 0.9), (["d2", "d2b"], 0.8), (["d1"], 0.7), ([], 0.6), (["d3"], 0.5)]
    assert beir.dedupe_ranking(hits) == ["d1", "d2", "d2b", "d3"]


def write_beir(folder: Path, n_docs_per_topic: int = 3) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    corpus, queries, qrels = [], [], ["query-id\tcorpus-id\tscore"]
    for t, (a, b, c) in enumerate(TOPICS):
        for k in range(n_docs_per_topic):
            doc_id = f"doc{t}-{k}"
            focus = (b, "history", c)[k]
            text = (f"This note is about the {a}. It discusses the {focus} of the {a} in detail: "
                    f"the {focus} matters most for every {a} studied in note {doc_id}.")
            corpus.append({"_id": doc_id, "title": f"{a.title()} {focus}", "text": text})
        queries.append({"_id": f"q{t}", "text": f"What is known about the {c} of the {a}?"})
        qrels.append(f"q{t}\tdoc{t}-2\t1")
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in corpus) + "\n")
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (folder / "qrels.tsv").write_text("\n".join(qrels) + "\n")


def test_load_limits_keep_the_relevant_documents(tmp_path: Path) -> None:
    write_beir(tmp_path / "tiny")
    bench = beir.load(tmp_path / "tiny", limit_queries=4, limit_corpus=6)
    assert list(bench.queries) == ["q0", "q1", "q2", "q3"]
    ids = [d.id for d in bench.corpus]
    assert {"doc0-2", "doc1-2", "doc2-2", "doc3-2"} <= set(ids) and len(ids) == 6
    assert bench.corpus[0].as_text().startswith("Volcano magma\n\n")


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="docman ops")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_end_to_end_on_a_tiny_beir_folder(tmp_path: Path, pg_admin_url: str, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    write_beir(tmp_path / "tiny")
    monkeypatch.setenv("DOCMAN_DATABASE_URL", pg_admin_url)  # a scratch database on the test server
    monkeypatch.setattr("server.logs.configure_logging", lambda *a, **k: None)  # keep the suite's sinks
    assert run_cli(["eval-retrieval", str(tmp_path / "tiny"), "--json"]) == 0
    out = capsys.readouterr()
    results = json.loads(out.out)
    assert set(results) == {"dense", "lexical", "hybrid"}
    for mode, m in results.items():
        assert m["queries"] == 10, mode
        assert 0.0 <= m["ndcg@10"] <= 1.0 and m["recall@10"] <= m["recall@100"] <= 1.0
    assert results["lexical"]["recall@10"] == 1.0  # the query words are in the relevant document only
    assert results["hybrid"]["ndcg@10"] > 0.5
    assert "ingested 30/30 ready" in out.err

    assert run_cli(["eval-retrieval", str(tmp_path / "tiny"), "--limit-queries", "2", "--modes", "lexical"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["mode", "nDCG@10", "Recall@10", "Recall@100"] and table[1].startswith("lexical")
