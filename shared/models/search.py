"""Search wire types."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

SearchMode = Literal["hybrid", "dense", "lexical"]


class SearchRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    top_k: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    mode: SearchMode = "hybrid"
    document_ids: list[str] | None = None


class SearchHit(msgspec.Struct, kw_only=True):
    chunk_id: int
    document_id: str
    title: str
    filename: str
    page_start: int
    page_end: int
    snippet: str  # matched terms wrapped in <mark>...</mark>
    score: float  # the fused score in hybrid mode, else the mode's own score
    dense_score: float | None = None
    lexical_score: float | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None


class SearchResponse(msgspec.Struct, kw_only=True):
    query: str
    mode: SearchMode
    results: list[SearchHit]
    took_ms: float
