"""Small text helpers shared by rewriting, source splitting and extractive answers: words, key
terms (stop words dropped, lightly stemmed for matching) and sentences."""

from __future__ import annotations

import re

from server.rag.chunk import split_sentences

_WORD = re.compile(r"\w+(?:[-'’]\w+)*")
_PARAGRAPHS = re.compile(r"\n[ \t]*\n")

STOPWORDS = frozenset("""
a about above after again against all am an and any are aren't as at be because been before being below
between both but by can could did do does doing don't down during each few for from further had has have
having here how i if in into is isn't it it's its itself just me my myself no nor not now of off on once
only or other our ours out over own same should so some such than that the their theirs them then there
these they this those through to too under until up very was we were what when where which while who whom
why will with would you your yours tell explain describe give show please say said says know
""".split())

# Words that point back at something said earlier: a question holding one is likely a follow-up.
DEICTIC = frozenset("it its they them their theirs this that these those he she him her his also more why".split())


def words(text: str) -> list[str]:
    """Lower-case words (hyphenated and apostrophe words kept whole)."""
    return [w.lower() for w in _WORD.findall(text)]


def stem(word: str) -> str:
    """A light, symmetric suffix stripper: 'batteries' meets 'battery', 'charging' meets 'charged'."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 4 and w.endswith("ed"):
        w = w[:-2]
    elif len(w) > 4 and w.endswith(("ches", "shes", "sses", "xes")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    return w[:-1] if len(w) > 4 and w.endswith("e") else w


def is_content(word: str) -> bool:
    return word not in STOPWORDS and (len(word) > 1 or word.isdigit())


def key_terms(text: str, limit: int | None = None) -> list[str]:
    """Content words in order of first appearance, each once."""
    out: list[str] = []
    for w in words(text):
        if is_content(w) and w not in out:
            out.append(w)
    return out[:limit] if limit is not None else out


def term_set(text: str) -> set[str]:
    """Stemmed content words, for overlap scoring."""
    return {stem(w) for w in words(text) if is_content(w)}


def sentences(text: str) -> list[str]:
    """Sentences of every paragraph, whitespace collapsed."""
    return [s for para in _PARAGRAPHS.split(text) if para.strip() for s in split_sentences(para)]


def squash(text: str) -> str:
    """Whitespace collapsed to single spaces."""
    return " ".join(text.split())
