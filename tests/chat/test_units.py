"""The chat feature's pure parts: templates, rewriting, page splitting, packing, citations, extracts."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from server.chat import extractive, templates
from server.chat.citations import cited_numbers, strip_markers
from server.chat.packing import format_source, pack, safety_margin, trim_history
from server.chat.rewrite import Turn, _clean, heuristic, needs_context, previous_question
from server.chat.sources import Source, split_by_page
from server.errors import Unprocessable
from server.rag.retrieve import Retrieved
from server.rag.tokens import estimate_messages_tokens


def hit(text: str, page_start: int = 1, page_end: int = 1, chunk_id: int = 1) -> Retrieved:
    return Retrieved(chunk_id=chunk_id, document_id="d1", title="Manual", filename="manual.pdf", page_start=page_start,
                     page_end=page_end, snippet="", score=1.0, text=text)


def source(text: str, page: int = 1, chunk_id: int = 1) -> Source:
    from server.chat.text import sentences

    return Source(hit(text, page, page, chunk_id), page, page, sentences(text))


# ---------------------------------------------------------------- templates


def test_template_declares_exactly_its_placeholders() -> None:
    ok = "---\ninputs: a, b\n---\n## system\nS {a}\n## user\nU {b} {{literal}}"
    t = templates.parse("t", ok)
    assert t.render(a="1", b="2") == [{"role": "system", "content": "S 1"}, {"role": "user", "content": "U 2 {literal}"}]
    with pytest.raises(templates.TemplateError, match="missing inputs"):
        t.render(a="1")
    with pytest.raises(templates.TemplateError, match="unexpected inputs"):
        t.render(a="1", b="2", c="3")
    with pytest.raises(templates.TemplateError, match="declares inputs"):
        templates.parse("t", "---\ninputs: a\n---\n## user\n{a} {b}")
    with pytest.raises(templates.TemplateError, match="front matter"):
        templates.parse("t", "## user\n{a}")


def test_shipped_templates_load() -> None:
    assert templates.load("answer").inputs == {"sources", "question"}
    assert templates.load("rewrite").inputs == {"history", "question"}
    system = templates.load("answer").sections[0][1]
    assert "[n]" in system and "only from the numbered sources" in system


# ---------------------------------------------------------------- rewriting


@pytest.mark.parametrize(("question", "expected"), [
    ("what about its energy?", True), ("why?", True), ("and the weight", True), ("Tell me more", True),
    ("How efficient is the Bar-7 inverter at converting current?", False),
])
def test_needs_context(question: str, expected: bool) -> None:
    assert needs_context(question) is expected


def test_heuristic_prepends_previous_key_terms() -> None:
    assert heuristic("what about its energy?", "What is the capacity of the Foo-3 battery?") == \
        "capacity foo-3 battery what about its energy?"
    assert heuristic("What does the Orion pump weigh exactly today?", "What is the capacity of the Foo-3 battery?") == \
        "What does the Orion pump weigh exactly today?"
    assert heuristic("why?", None) == "why?"
    history = [Turn("user", "raw", query="standalone form"), Turn("assistant", "answer")]
    assert previous_question(history) == "standalone form"


def test_clean_llm_rewrite() -> None:
    assert _clean('Standalone question: "What is X?"\nextra') == "What is X?"


# ---------------------------------------------------------------- sources


def test_split_by_page_locates_sentences() -> None:
    pages = {2: "Intro text.\nThe Vega compressor weighs 320\nkilograms.", 3: "The Lyra turbine spins fast. It is loud."}
    chunk = "The Vega compressor weighs 320 kilograms. The Lyra turbine spins fast. It is loud."
    assert split_by_page(chunk, 2, 3, pages) == [
        (2, 2, ["The Vega compressor weighs 320 kilograms."]),
        (3, 3, ["The Lyra turbine spins fast.", "It is loud."]),
    ]
    assert split_by_page("Something else entirely.", 2, 3, pages) is None


def test_split_by_page_sentence_over_a_page_break() -> None:
    pages = {1: "First. The pump runs", 2: "at 40 bar. Done."}
    assert split_by_page("First. The pump runs at 40 bar. Done.", 1, 2, pages) == [
        (1, 2, ["First.", "The pump runs at 40 bar."]), (2, 2, ["Done."])]


# ---------------------------------------------------------------- citations


def test_cited_numbers() -> None:
    assert cited_numbers("A [2]. B [1][2]. C [3, 4]. D [9]. E [2-3].", 4) == [2, 1, 3, 4]
    assert strip_markers("It is 12 kWh [1][2]. Done [3, 4].") == "It is 12 kWh. Done."


# ---------------------------------------------------------------- packing


def test_pack_fits_the_window_numbers_in_order_and_cuts_at_sentences() -> None:
    long = " ".join(f"Sentence number {i} says the pump runs at {i} bar." for i in range(60))
    sources = [source(long, page=p, chunk_id=p) for p in range(1, 8)]
    history = [{"role": "user", "content": "Earlier question " * 40}, {"role": "assistant", "content": "Earlier answer " * 40}]
    window, max_tokens = 1200, 200
    packed = pack(templates.load("answer"), "What pressure?", history, sources, window=window, max_tokens=max_tokens)
    assert estimate_messages_tokens(packed.messages) + max_tokens + safety_margin(window) <= window
    assert packed.prompt_tokens == estimate_messages_tokens(packed.messages)
    assert 1 <= len(packed.sources) < len(sources)
    last = packed.sources[-1]
    assert last.text.endswith(".") and len(last.sentences) < 60  # cut at a sentence boundary
    prompt = packed.messages[-1]["content"]
    for n, s in enumerate(packed.sources, start=1):
        assert format_source(n, s) in prompt


def test_pack_rejects_a_question_that_cannot_fit() -> None:
    with pytest.raises(Unprocessable) as exc:
        pack(templates.load("answer"), "word " * 3000, [], [source("A fact.")], window=1000, max_tokens=200)
    assert exc.value.code == "context_too_long"


def test_trim_history_drops_oldest_and_starts_with_a_question() -> None:
    history = [{"role": "user", "content": "q1 " * 50}, {"role": "assistant", "content": "a1 " * 50},
               {"role": "user", "content": "q2"}, {"role": "assistant", "content": "a2"}]
    assert trim_history(history, 10_000) == history
    assert trim_history(history, 20) == history[2:]
    assert trim_history(history, 0) == []


# ---------------------------------------------------------------- extractive


def test_extractive_picks_relevant_sentences_from_distinct_sources() -> None:
    sources = [
        source("The Orion pump operates at a pressure of 40 bar. It is painted blue.", 1, 1),
        source("Maintenance of the Orion pump: check the pressure of 40 bar monthly.", 2, 2),
        source("The Vega compressor weighs 320 kilograms.", 3, 3),
    ]
    result = extractive.build("What pressure does the Orion pump operate at?", sources)
    assert result.pieces[0].startswith(extractive.INTRO)
    assert result.pieces[1] == "- The Orion pump operates at a pressure of 40 bar. [1]\n"
    assert result.cited == [1, 2]
    assert extractive.build("Who painted the Sistine Chapel?", sources).text == extractive.NO_ANSWER


# ---------------------------------------------------------------- SSE responses


async def test_sse_response_closes_a_generator_left_between_two_events() -> None:
    """Litestar cancels the sending task on disconnect, possibly while the generator waits at a
    `yield`; the response's background task must close it then (and so its LLM stream)."""
    from server.api.sse import sse_response

    closed: list[bool] = []

    async def body() -> AsyncGenerator[bytes, None]:
        try:
            yield b"event: token\n\n"
            yield b"event: token\n\n"
        finally:
            closed.append(True)

    agen = body()
    await agen.__anext__()  # suspended at its first yield, as when a send was interrupted
    response = sse_response(agen)
    assert response.background is not None
    await response.background()
    assert closed == [True]
