"""A fixed set of prose PDFs made with PyMuPDF: a heading and full pages of paragraphs."""

from __future__ import annotations

import random
from pathlib import Path

import pymupdf

from ops.bench.corpus import Corpus, paragraphs

_BOX = pymupdf.Rect(54, 54, 558, 738)  # US Letter less 3/4 inch margins
_PAGE_CHARS = 3600  # a little more than fits at 10.5 pt; the excess is dropped


def make_pdfs(directory: Path, corpus: Corpus, docs: int, pages: int, seed: int = 11) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    out = []
    for d in range(docs):
        path = directory / f"bench-{d + 1:03d}.pdf"
        _make_pdf(path, corpus, pages, rng, title=f"Benchmark report {d + 1}")
        out.append(path)
    return out


def _make_pdf(path: Path, corpus: Corpus, pages: int, rng: random.Random, title: str) -> None:
    doc = pymupdf.open()
    try:
        for number in range(1, pages + 1):
            page = doc.new_page(width=612, height=792)
            paras = [f"{title}, section {number}"]
            while sum(len(p) for p in paras) < _PAGE_CHARS:
                paras += paragraphs(rng, corpus.sentences, 1)
            while page.insert_textbox(_BOX, "\n\n".join(paras), fontsize=10.5) < 0:  # nothing written: retry shorter
                paras.pop()
        doc.save(path, garbage=3, deflate=True)
    finally:
        doc.close()
