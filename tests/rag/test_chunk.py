"""Chunking: sizes, sentence boundaries, overlap, page ranges, streaming."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.rag.chunk import Chunk, chunk_pages, split_sentences
from server.rag.extract import Page, open_document
from tests.pdfs import make_big_pdf


def words(text: str) -> int:
    """Whitespace-word counter standing in for the embedding model's tokenizer."""
    return len(text.split())


def as_pages(*texts: str) -> list[Page]:
    return [Page(n, t) for n, t in enumerate(texts, start=1)]


def sentences(prefix: str, n: int, length: int = 8) -> str:
    """`n` distinct sentences of `length` words: "Alpha0 w1 w2 ... w7." etc."""
    return " ".join(
        f"{prefix.capitalize()}{i} " + " ".join(f"{prefix}{i}w{j}" for j in range(1, length)) + "." for i in range(n)
    )


def check_invariants(chunks: list[Chunk], target: int, count: object = words) -> None:
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert c.text.strip() and c.text == c.text.strip()
        assert c.token_count == count(c.text) <= target  # type: ignore[operator]
        assert 1 <= c.page_start <= c.page_end


def test_packs_sentences_up_to_the_target() -> None:
    text = sentences("alpha", 40)  # 320 words
    chunks = list(chunk_pages(as_pages(text), words, target_tokens=50, overlap_tokens=0))
    check_invariants(chunks, 50)
    assert [c.token_count for c in chunks] == [48] * 6 + [32]  # whole 8-word sentences only
    assert all(c.text.endswith(".") for c in chunks)
    assert " ".join(c.text for c in chunks) == text  # nothing lost, nothing repeated


def test_overlap_carries_the_last_sentences() -> None:
    chunks = list(chunk_pages(as_pages(sentences("beta", 30)), words, target_tokens=40, overlap_tokens=20))
    check_invariants(chunks, 40)
    for a, b in itertools.pairwise(chunks):
        tail = split_sentences(a.text)[-2:]  # two 8-word sentences fit in 20 tokens, three do not
        assert split_sentences(b.text)[:2] == tail
    assert chunks[-1].text.endswith("Beta29 " + " ".join(f"beta29w{j}" for j in range(1, 8)) + ".")


def test_no_overlap_when_zero() -> None:
    chunks = list(chunk_pages(as_pages(sentences("gamma", 30)), words, target_tokens=40, overlap_tokens=0))
    seen = [s for c in chunks for s in split_sentences(c.text)]
    assert len(seen) == len(set(seen)) == 30


def test_page_ranges_follow_the_text() -> None:
    pages = as_pages(sentences("one", 3), sentences("two", 3), sentences("three", 3))  # 24 words each
    chunks = list(chunk_pages(pages, words, target_tokens=36, overlap_tokens=0))  # 4 sentences each
    check_invariants(chunks, 36)
    ranges = [(c.page_start, c.page_end) for c in chunks]
    assert ranges == [(1, 2), (2, 3), (3, 3)]
    assert chunks[0].text.startswith("One0") and "Two1" not in chunks[0].text and "Two0" in chunks[0].text


def test_overlap_widens_the_page_range() -> None:
    pages = as_pages(sentences("one", 5), sentences("two", 5))  # 40 words per page
    chunks = list(chunk_pages(pages, words, target_tokens=40, overlap_tokens=8))
    assert [(c.page_start, c.page_end) for c in chunks] == [(1, 1), (1, 2), (2, 2)]
    assert chunks[1].text.startswith("One4 ")


def test_sentence_cut_by_a_page_break_is_rejoined() -> None:
    pages = as_pages(
        "Intro sentence here. The results show that the exam-",
        "ple works well on new data. Another sentence follows.\n\nA new paragraph.",
    )
    chunks = list(chunk_pages(pages, words, target_tokens=100, overlap_tokens=0))
    assert len(chunks) == 1 and (chunks[0].page_start, chunks[0].page_end) == (1, 2)
    assert chunks[0].text == (
        "Intro sentence here. The results show that the example works well on new data. "
        "Another sentence follows.\n\nA new paragraph."
    )
    small = list(chunk_pages(pages, words, target_tokens=12, overlap_tokens=0))
    assert [(c.page_start, c.page_end) for c in small] == [(1, 1), (1, 2), (2, 2)]
    assert small[1].text == "The results show that the example works well on new data."


def test_paragraphs_are_kept_apart() -> None:
    page = "First paragraph. It has two sentences.\n\nSecond paragraph.\nSame paragraph, new line."
    (chunk,) = chunk_pages(as_pages(page), words, target_tokens=100)
    assert chunk.text == "First paragraph. It has two sentences.\n\nSecond paragraph. Same paragraph, new line."


def test_long_sentence_is_split_on_words() -> None:
    long = " ".join(f"w{i}" for i in range(1000))  # one 1000-word sentence without punctuation
    chunks = list(chunk_pages(as_pages("Short start.", long, "Short end."), words, target_tokens=64, overlap_tokens=16))
    check_invariants(chunks, 64)
    assert all(c.token_count >= 32 for c in chunks[1:-1])  # halving keeps pieces reasonably full
    body = [w for c in chunk_pages(as_pages(long), words, target_tokens=64, overlap_tokens=0) for w in c.text.split()]
    assert body == long.split()


def test_one_giant_word_is_cut() -> None:
    def chars(text: str) -> int:
        return len(text)

    chunks = list(chunk_pages(as_pages("x" * 1000), chars, target_tokens=100, overlap_tokens=0))
    check_invariants(chunks, 100, chars)
    assert "".join(c.text for c in chunks) == "x" * 1000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("See e.g. the appendix. Then stop.", ["See e.g. the appendix.", "Then stop."]),
        ("As Fig. 3 shows, it works. Next.", ["As Fig. 3 shows, it works.", "Next."]),
        ("Smith et al. (2020) agree. Yes.", ["Smith et al. (2020) agree.", "Yes."]),
        ("It rose 3.5 percent. Then 2.25 more.", ["It rose 3.5 percent.", "Then 2.25 more."]),
        ("Dr. J. R. Smith came. He left.", ["Dr. J. R. Smith came.", "He left."]),
        ("The U.S. Army (i.e. soldiers) ran. Fine.", ["The U.S. Army (i.e. soldiers) ran.", "Fine."]),
        ('He said "stop." Then left!', ['He said "stop."', "Then left!"]),
        ("Why? Because. Ok...", ["Why?", "Because.", "Ok..."]),
        ("Items:\n- first\n- second\n1. third", ["Items:", "- first", "- second", "1. third"]),
        ("第一句。第二句！", ["第一句。", "第二句！"]),
    ],
)
def test_sentence_splitter(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_abbreviations_do_not_end_chunks() -> None:
    text = "Some tools, e.g. Fig. 2 and Smith et al. (2019), are fine. " * 20
    chunks = list(chunk_pages(as_pages(text), words, target_tokens=30, overlap_tokens=0))
    assert all(c.text.startswith("Some tools, e.g. Fig. 2") and c.text.endswith("are fine.") for c in chunks)


def test_deterministic() -> None:
    pages = as_pages(sentences("delta", 50), sentences("eps", 50, length=13))
    first = list(chunk_pages(pages, words, target_tokens=60, overlap_tokens=15))
    assert first == list(chunk_pages(pages, words, target_tokens=60, overlap_tokens=15))


def test_empty_input_and_blank_pages() -> None:
    assert list(chunk_pages([], words)) == []
    assert list(chunk_pages(as_pages("", "  \n\n ", "\n"), words)) == []
    chunks = list(chunk_pages(as_pages("", "Only text here", ""), words))
    assert [(c.page_start, c.page_end, c.text) for c in chunks] == [(2, 2, "Only text here")]


def test_bad_parameters() -> None:
    for target, overlap in [(0, 0), (10, 10), (10, -1)]:
        with pytest.raises(ValueError):
            list(chunk_pages(as_pages("x."), words, target_tokens=target, overlap_tokens=overlap))


def test_fixed_token_overhead_is_respected() -> None:
    def with_specials(text: str) -> int:
        return len(text.split()) + 2  # e.g. [CLS] ... [SEP]

    chunks = list(chunk_pages(as_pages(sentences("zeta", 30)), with_specials, target_tokens=50, overlap_tokens=10))
    check_invariants(chunks, 50, with_specials)
    assert max(c.token_count for c in chunks) == 50  # six 8-word sentences + 2


def test_count_tokens_is_called_per_sentence_not_per_buffer() -> None:
    calls: list[str] = []

    def counting(text: str) -> int:
        calls.append(text)
        return words(text)

    n_sentences = 2000
    chunks = list(chunk_pages(as_pages(sentences("eta", n_sentences)), counting, target_tokens=256, overlap_tokens=40))
    assert len(calls) <= 1 + n_sentences + 2 * len(chunks)
    assert max(len(c) for c in calls) <= max(len(c.text) for c in chunks)  # never a growing buffer


def test_streams_pages_lazily() -> None:
    consumed = 0

    def pages() -> Iterator[Page]:
        nonlocal consumed
        for n in range(1, 2001):
            consumed = n
            yield Page(n, f"Page {n} talks about topic-{n}. " + sentences(f"p{n}x", 20))

    stream = chunk_pages(pages(), words, target_tokens=256, overlap_tokens=40)
    first = next(stream)
    assert consumed <= 2 and first.page_start == 1
    rest = list(itertools.islice(stream, 20))
    assert consumed <= 30 and rest[-1].ordinal == 20  # ~216 new words a chunk, 166 a page
    assert sum(1 for _ in stream) > 500 and consumed == 2000


def test_chunks_from_an_extracted_pdf_cite_their_pages(tmp_path: Path) -> None:
    with open_document(make_big_pdf(tmp_path / "big.pdf", 120), "application/pdf", max_pages=200) as doc:
        chunks = list(chunk_pages(doc.pages(), words, target_tokens=60, overlap_tokens=10))
    for n in (1, 17, 120):
        holders = [c for c in chunks if f"marker-{n}." in c.text]
        assert holders and all(c.page_start <= n <= c.page_end for c in holders)


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.text(alphabet="ab .!?\n", max_size=200), max_size=6),
    target=st.integers(1, 30),
    overlap_share=st.floats(0, 0.9),
)
def test_invariants_hold_for_any_text(texts: list[str], target: int, overlap_share: float) -> None:
    overlap = int(target * overlap_share)
    chunks = list(chunk_pages(as_pages(*texts), words, target_tokens=target, overlap_tokens=overlap))
    check_invariants(chunks, target)
    assert all(c.page_end <= len(texts) for c in chunks)
    if overlap == 0:
        assert [w for c in chunks for w in c.text.split()] == [w for t in texts for w in t.split()]


def test_final_count_hands_back_sentences_when_the_sum_underestimates() -> None:
    def joins_cost(text: str) -> int:
        return len(text.split()) + text.count(". ")  # every sentence join costs a token

    text = sentences("theta", 30)
    chunks = list(chunk_pages(as_pages(text), joins_cost, target_tokens=40, overlap_tokens=0))
    check_invariants(chunks, 40, joins_cost)
    assert [c.token_count for c in chunks[:-1]] == [35] * (len(chunks) - 1)  # 4 sentences, not 5
    assert " ".join(c.text for c in chunks) == text
