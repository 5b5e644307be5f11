"""Prompt templates: Markdown files under `server/chat/prompts/`, loaded once.

A file declares its inputs in a front matter block and holds one section per chat role:

    ---
    inputs: sources, question
    ---
    ## system
    ...instructions...
    ## user
    Sources:
    {sources}

Placeholders are `{name}` (str.format syntax; write literal braces as `{{` and `}}`). Loading
checks that the placeholders are exactly the declared inputs; rendering checks that exactly the
declared inputs are given, so a template and its callers cannot drift apart silently.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from importlib import resources

ROLES = ("system", "user", "assistant")


class TemplateError(ValueError):
    pass


@dataclass(frozen=True)
class Template:
    name: str
    inputs: frozenset[str]
    sections: tuple[tuple[str, str], ...]  # (role, text with placeholders)

    def render(self, **values: str) -> list[dict[str, str]]:
        """Chat messages, one per section, with the placeholders filled in."""
        given = set(values)
        if given != self.inputs:
            missing, extra = sorted(self.inputs - given), sorted(given - self.inputs)
            raise TemplateError(f"template {self.name}: missing inputs {missing}, unexpected inputs {extra}")
        return [{"role": role, "content": text.format_map(values)} for role, text in self.sections]


def _placeholders(text: str) -> set[str]:
    names = set()
    for _, field, spec, conversion in string.Formatter().parse(text):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise TemplateError(f"only plain {{name}} placeholders are allowed, got {{{field}}}")
        names.add(field)
    return names


def parse(name: str, source: str) -> Template:
    lines = source.strip().splitlines()
    if not lines or lines[0].strip() != "---" or "---" not in (line.strip() for line in lines[1:]):
        raise TemplateError(f"template {name}: missing the front matter block (--- ... ---)")
    end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    meta = dict(line.split(":", 1) for line in lines[1:end] if ":" in line)
    inputs = frozenset(x.strip() for x in meta.get("inputs", "").split(",") if x.strip())
    sections: list[tuple[str, list[str]]] = []
    for line in lines[end + 1:]:
        if line.startswith("## ") and line[3:].strip() in ROLES:
            sections.append((line[3:].strip(), []))
        elif sections:
            sections[-1][1].append(line)
        elif line.strip():
            raise TemplateError(f"template {name}: text before the first '## <role>' heading")
    built = tuple((role, "\n".join(body).strip()) for role, body in sections)
    if not built:
        raise TemplateError(f"template {name}: no '## system' / '## user' sections")
    used = set().union(*(_placeholders(text) for _, text in built))
    if used != inputs:
        raise TemplateError(f"template {name}: declares inputs {sorted(inputs)} but uses {sorted(used)}")
    return Template(name, inputs, built)


@cache
def load(name: str) -> Template:
    """The template `prompts/<name>.md`, parsed and checked once per process."""
    source = resources.files("server.chat.prompts").joinpath(f"{name}.md").read_text(encoding="utf-8")
    return parse(name, source)
