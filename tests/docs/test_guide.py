"""Checks that keep the operators' documentation true to the system.

docs/troubleshooting-guide.md, README.md and ops/runbooks/*.md are read as an operator would run
them: every `docman ...` command line must parse with the real CLI parser, every `/api/v1/...`
path must be a route of the app, every metric in a PromQL snippet must be defined in the code,
every table in a SQL snippet must exist in the migrations, and every relative link must resolve.
No server, database or network is needed.
"""

from __future__ import annotations

import argparse
import re
import shlex
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "troubleshooting-guide.md"
README = ROOT / "README.md"
RUNBOOKS = sorted((ROOT / "ops" / "runbooks").glob("*.md"))
DOCS = [GUIDE, README, *RUNBOOKS]
SPEC = Path("/work/shared/spec/troubleshooting-guide.md")  # the generic guide, when present

SAMPLE_UUID = "0d8bf7e7-22b5-4f23-acbf-1142b90772d9"
PLACEHOLDER = re.compile(r"<([A-Za-z][\w .:/-]*)>")

# Metrics that are not defined in this repository's code: other exporters and the Prometheus
# client's default collectors.
OTHER_EXPORTERS = {"up"}
OTHER_EXPORTER_PREFIXES = ("pg_", "process_", "python_")

# Catalog relations may be named in SQL snippets.
CATALOG_PREFIXES = ("pg_", "information_schema.")

# Paths of Prometheus, Alertmanager and Loki that look like ours.
FOREIGN_HOST_MARKERS = (":9090", ":9093", ":3100", ":3000", "prometheus", "alertmanager", "loki", "grafana")
FOREIGN_BARE_PATHS = {"/api/v1/query", "/api/v1/query_range", "/api/v1/targets", "/api/v1/rules",
                      "/api/v1/alerts", "/api/v1/silences", "/api/v1/status"}


# ----------------------------------------------------------------------------- markdown parsing


@dataclass(frozen=True)
class Block:
    lang: str
    text: str


def fenced_blocks(text: str) -> list[Block]:
    """Fenced code blocks (``` or ~~~, possibly indented inside list items)."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = re.match(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)", lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = len(m.group(1)), m.group(2), m.group(3).lower()
        body, i = [], i + 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            line = lines[i]
            body.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
            i += 1
        blocks.append(Block(lang, "\n".join(body)))
        i += 1
    return blocks


def prose(text: str) -> str:
    """The text without fenced code blocks."""
    out, fence = [], None
    for line in text.splitlines():
        m = re.match(r"^\s*(`{3,}|~{3,})", line)
        if fence is None and m:
            fence = m.group(1)
            continue
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            continue
        out.append(line)
    return "\n".join(out)


def inline_code(text: str) -> list[str]:
    """Inline code spans of the prose; `\\|` (a pipe escaped in a table cell) becomes `|`."""
    spans = []
    for m in re.finditer(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", prose(text)):
        spans.append(m.group(2).strip().replace("\\|", "|"))
    return spans


def join_continuations(text: str) -> str:
    return re.sub(r"\\\n\s*", " ", text)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


# ----------------------------------------------------------------------------- docman commands

GROUPS = ("serve", "worker", "settings", "ops", "users", "chat", "console", "login", "logout")
DOCMAN_LINE = re.compile(r"(?<![\w.-])(?:[\w./-]*/)?docman\s+(?:" + "|".join(GROUPS) + r")\b")
GROUPS_NEEDING_ACTION = {"ops", "users"}


def fill_placeholders(text: str) -> str:
    def value(m: re.Match[str]) -> str:
        name = m.group(1).lower()
        if "id" in name.replace("-", "_").split("_") or name.endswith("id"):
            return SAMPLE_UUID
        return "sample"

    return PLACEHOLDER.sub(value, text)


def docman_argv(line: str) -> list[str] | None:
    """The argv after `docman` in one shell line, up to the first shell operator; None if none."""
    lexer = shlex.shlex(fill_placeholders(line), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    tokens = list(lexer)
    for i, token in enumerate(tokens):
        if token == "docman" or token.endswith("/docman"):
            argv = []
            for t in tokens[i + 1:]:
                if t and all(c in "();<>|&" for c in t):
                    break
                argv.append(t)
            return argv
    return None


def docman_commands(path: Path) -> Iterator[tuple[str, list[str]]]:
    text = read(path)
    candidates: list[str] = []
    for block in fenced_blocks(text):
        candidates += join_continuations(block.text).splitlines()
    candidates += inline_code(text)
    for line in candidates:
        if not DOCMAN_LINE.search(line):
            continue
        argv = docman_argv(line)
        if argv is None:
            continue  # `docman` only inside a quoted word, e.g. grep '[d]ocman serve'
        if argv and argv[0] in GROUPS_NEEDING_ACTION and len(argv) == 1:
            continue  # a reference to the group (`docman ops`), not a command line
        yield line.strip(), argv


@cache
def parser() -> argparse.ArgumentParser:
    from ops.cli import build_parser

    return build_parser()


def all_docman_commands() -> list[tuple[str, str, list[str]]]:
    return [(rel(path), line, argv) for path in DOCS for line, argv in docman_commands(path)]


def test_docs_show_docman_commands() -> None:
    found = {path for path, _, _ in all_docman_commands()}
    assert rel(GUIDE) in found and rel(README) in found


@pytest.mark.parametrize(("path", "line", "argv"), all_docman_commands(),
                         ids=lambda v: v if isinstance(v, str) and len(v) < 80 else None)
def test_docman_command_parses(path: str, line: str, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        parser().parse_args(argv)
    except SystemExit as exc:
        if exc.code == 0 and ("--help" in argv or "-h" in argv):
            return  # `docman ops --help` is a fine command line
        err = capsys.readouterr().err
        pytest.fail(f"{path}: `{line}` does not parse as `docman {' '.join(argv)}`:\n{err}")
    # argparse also accepts unambiguous abbreviations (`--doc` for `--document-id`): the docs must not.
    options = option_strings(argv)
    for token in argv:
        if token.startswith("--") and token.split("=", 1)[0] not in options:
            pytest.fail(f"{path}: `{line}` abbreviates or misspells {token.split('=', 1)[0]}; "
                        f"the options are {sorted(options)}")


def option_strings(argv: list[str]) -> set[str]:
    """The option strings of the (sub)command that `argv` selects."""
    current = parser()
    for token in argv:
        sub = next((a for a in current._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None or token not in sub.choices:
            continue
        current = sub.choices[token]
    return {opt for action in current._actions for opt in action.option_strings}


# ----------------------------------------------------------------------------- API routes

PATH_RE = re.compile(r"(?P<prefix>[^\s`'\"(\[]*?)(?P<path>/api/v1/[\w\-./{}:<>$*]*)")


@cache
def app_routes() -> list[str]:
    from server.app import create_app
    from server.settings import load_settings

    app = create_app(load_settings({}), conninfo="postgresql://unused")
    return sorted({route.path for route in app.routes})


def route_pattern(route: str) -> re.Pattern[str]:
    parts = re.split(r"\{[^}]*\}", route)
    return re.compile("[^/]+".join(re.escape(p) for p in parts))


def normalise(path: str) -> tuple[str, bool]:
    """(path with placeholders as `{}`, whether it is a prefix such as `/api/v1/ops/...`)."""
    prefix = False
    if path.endswith("...") or path.endswith("*"):
        path, prefix = path.rstrip(".*"), True
    path = path.rstrip(".:,")
    segments = []
    for seg in path.split("/"):
        if (re.fullmatch(r"\{[^}]*\}|<[^>]*>|\$\w+|\d+", seg)
                or re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", seg)):
            seg = "{}"
        segments.append(seg)
    path = "/".join(segments)
    return path, prefix or path.endswith("/")


def api_paths(path: Path) -> Iterator[tuple[str, str]]:
    """(path as written, normalised) of every /api/v1 path of this API named in a document."""
    for m in PATH_RE.finditer(read(path)):
        prefix, raw = m.group("prefix"), m.group("path")
        if any(marker in prefix.lower() for marker in FOREIGN_HOST_MARKERS) or "/loki" in prefix:
            continue
        norm, is_prefix = normalise(raw)
        if not prefix and norm in FOREIGN_BARE_PATHS:
            continue
        yield raw, norm + ("*" if is_prefix else "")


def route_exists(norm: str) -> bool:
    routes = app_routes()
    if norm.endswith("*"):
        return any(r.startswith(norm[:-1]) for r in routes)
    return any(route_pattern(r).fullmatch(norm) for r in routes)


def all_api_paths() -> list[tuple[str, str, str]]:
    seen, out = set(), []
    for path in DOCS:
        for raw, norm in api_paths(path):
            if (rel(path), norm) not in seen:
                seen.add((rel(path), norm))
                out.append((rel(path), raw, norm))
    return out


def test_route_extraction_sees_the_guides_paths() -> None:
    norms = {norm for p, _, norm in all_api_paths() if p == rel(GUIDE)}
    assert {"/api/v1/health/dependencies", "/api/v1/ops/logs", "/api/v1/documents/{}"} <= norms
    assert not any("query" in n for n in norms)  # Prometheus' /api/v1/query is not ours


@pytest.mark.parametrize(("path", "raw", "norm"), all_api_paths())
def test_api_path_is_a_route(path: str, raw: str, norm: str) -> None:
    assert route_exists(norm), f"{path}: {raw} is not a route of the app; routes:\n" + "\n".join(app_routes())


def test_ops_commands_reach_existing_routes() -> None:
    """The `docman ops` commands the guide documents call server routes that exist."""
    from shared import routes

    source = read(ROOT / "ops" / "diagnostics.py")
    missing = []
    for name in sorted(set(re.findall(r"routes\.([A-Z_]+)", source))):
        norm, _ = normalise(getattr(routes, name))
        if not route_exists(norm):
            missing.append(f"routes.{name} = {getattr(routes, name)}")
    assert not missing, "ops/diagnostics.py calls routes the app does not serve: " + ", ".join(missing)


# ----------------------------------------------------------------------------- metrics

PROMQL_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
                   "bool", "offset", "inf", "nan", "le"}
PROMQL_FUNCTION_CALL = re.compile(
    r"\b(?:rate|irate|increase|delta|idelta|histogram_quantile|sum|max|min|avg|count|absent|"
    r"max_over_time|min_over_time|avg_over_time|topk|bottomk)\s*\(")


@cache
def defined_metrics() -> frozenset[str]:
    names = set()
    pattern = re.compile(r"\b(?:Counter|Gauge|Histogram|Summary|Info|Enum"
                         r"|GaugeMetricFamily|CounterMetricFamily|HistogramMetricFamily)"
                         r"\(\s*\"([a-zA-Z_:][\w:]*)\"")
    for py in (ROOT / "server").rglob("*.py"):
        names.update(pattern.findall(read(py)))
    from server.metrics import pool_metrics  # scrape-time gauges named in a loop

    names.update(family.name for family in pool_metrics(lambda: {})())
    return frozenset(names)


def metric_is_known(name: str) -> bool:
    if name in OTHER_EXPORTERS or name.startswith(OTHER_EXPORTER_PREFIXES):
        return True
    defined = defined_metrics()
    candidates = {name}
    for suffix in ("_bucket", "_count", "_sum", "_created", "_total"):
        if name.endswith(suffix):
            candidates.add(name[: -len(suffix)])
    candidates |= {c + "_total" for c in set(candidates)}
    return bool(candidates & defined)


def metric_names(expr: str) -> set[str]:
    """Metric names of a PromQL expression: identifiers that are not functions, labels or keywords."""
    expr = re.sub(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'", "", expr)
    expr = re.sub(r"\{[^{}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for m in re.finditer(r"(?<![\w.$])([a-zA-Z_:][\w:]*)\b(?!\s*\()", expr):
        if m.group(1) not in PROMQL_KEYWORDS:
            names.add(m.group(1))
    return names


def promql_snippets(path: Path) -> list[str]:
    text = read(path)
    snippets = []
    for block in fenced_blocks(text):
        if block.lang == "promql":
            snippets.append(block.text)
        joined = join_continuations(block.text)
        snippets += [m.group(2) for m in re.finditer(r"--data-urlencode\s+(['\"])query=(.*?)\1", joined, re.S)
                     if "loki" not in joined[max(0, m.start() - 300):m.start()]]
        snippets += re.findall(r"/api/v1/query\?query=([^\"\s]+)", joined)
    for span in inline_code(text):
        if span.startswith("{") or re.match(r"(?i)(SELECT|UPDATE|DELETE|INSERT|WITH)\b", span):
            continue  # a LogQL stream selector, or SQL
        if PROMQL_FUNCTION_CALL.search(span) or re.match(r"^[a-z_:][\w:]*\{", span):
            snippets.append(span)
    return snippets


def metric_table_names(path: Path) -> list[str]:
    """Backticked names in the first column of tables whose first header is `metric`."""
    names, in_table = [], False
    for line in read(path).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else None
        if cells is None:
            in_table = False
            continue
        if cells[0].lower() == "metric":
            in_table = True
            continue
        if in_table:
            names += re.findall(r"`([a-z_:][\w:]*)", cells[0])
    return names


def all_metric_references() -> list[tuple[str, str]]:
    out = set()
    for path in DOCS:
        for snippet in promql_snippets(path):
            out |= {(rel(path), name) for name in metric_names(snippet)}
        out |= {(rel(path), name) for name in metric_table_names(path)}
    return sorted(out)


def test_metric_extraction_sees_the_guides_metrics() -> None:
    guide = {name for p, name in all_metric_references() if p == rel(GUIDE)}
    assert {"http_requests_total", "http_request_duration_seconds_bucket", "db_requests_waiting",
            "llm_tokens_total", "vector_index_consistent"} <= guide
    assert defined_metrics() >= {"db_pool_available", "http_requests_total", "ingest_queue_depth"}


@pytest.mark.parametrize(("path", "name"), all_metric_references())
def test_metric_is_defined(path: str, name: str) -> None:
    assert metric_is_known(name), (
        f"{path}: metric {name} is not defined in server/ (nor allow-listed as another exporter's)")


# ----------------------------------------------------------------------------- SQL tables


@cache
def migration_tables() -> frozenset[str]:
    sources = [*sorted((ROOT / "server" / "db" / "migrations").glob("*.sql")), ROOT / "server" / "db" / "migrate.py"]
    pattern = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_][\w]*)", re.I)
    return frozenset(name.lower() for src in sources for name in pattern.findall(read(src)))


def sql_snippets(path: Path) -> list[str]:
    text = read(path)
    snippets = []
    for block in fenced_blocks(text):
        if block.lang == "sql":
            snippets.append(block.text)
            continue
        joined = join_continuations(block.text)
        for m in re.finditer(r"psql\b[^\n]*?\s-c\s+(\"(?:[^\"\\]|\\.)*\"|'[^']*')", joined, re.S):
            snippets.append(m.group(1)[1:-1])
    for span in inline_code(text):
        if re.match(r"(?i)(SELECT|UPDATE|DELETE|INSERT|VACUUM|WITH)\b", span):
            snippets.append(span)
        for m in re.finditer(r"psql\b.*?\s-c\s+(\"[^\"]*\"|'[^']*')", span):
            snippets.append(m.group(1)[1:-1])
    return snippets


def sql_tables(sql: str) -> set[str]:
    sql = re.sub(r"'(?:[^']|'')*'", "''", sql)
    ctes = {c.lower() for c in re.findall(r"(?i)(?:\bWITH|,)\s+([a-z_]\w*)\s+AS\s*\(", sql)}
    tables = set()
    for m in re.finditer(r"(?i)\b(?:FROM|JOIN|UPDATE|INTO)\s+([a-z_][\w.]*)\b(?!\s*\()", sql):
        name = m.group(1).lower().removeprefix("public.")
        if name in ctes or name.startswith(CATALOG_PREFIXES) or name.startswith("pg_catalog."):
            continue
        tables.add(name)
    return tables


def all_sql_tables() -> list[tuple[str, str]]:
    out = set()
    for path in DOCS:
        for snippet in sql_snippets(path):
            out |= {(rel(path), table) for table in sql_tables(snippet)}
    return sorted(out)


def test_sql_extraction_sees_the_guides_tables() -> None:
    guide = {t for p, t in all_sql_tables() if p == rel(GUIDE)}
    assert {"documents", "document_chunks", "ingest_jobs", "messages"} <= guide


@pytest.mark.parametrize(("path", "table"), all_sql_tables())
def test_sql_table_exists(path: str, table: str) -> None:
    assert table in migration_tables(), f"{path}: table {table} is not created by server/db/migrations"


# ----------------------------------------------------------------------------- links


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"`|\*\*|__", "", heading.strip()).lower()
    text = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in prose(read(path)).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return frozenset(out)


def links(path: Path) -> Iterator[str]:
    text = re.sub(r"`[^`\n]*`", "", prose(read(path)))
    for m in re.finditer(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text):
        yield m.group(1)


def all_links() -> list[tuple[str, str]]:
    return [(rel(path), target) for path in DOCS for target in links(path)
            if not re.match(r"[a-z][a-z0-9+.-]*:", target)]


@pytest.mark.parametrize(("path", "target"), all_links())
def test_link_resolves(path: str, target: str) -> None:
    source = ROOT / path
    file_part, _, anchor = target.partition("#")
    dest = (source.parent / file_part).resolve() if file_part else source
    assert dest.exists(), f"{path}: link target {target} does not exist"
    if anchor and dest.suffix == ".md":
        assert anchor in anchors(dest), f"{path}: {dest.name} has no heading with anchor #{anchor}"


# ----------------------------------------------------------------------------- the guide itself


def test_guide_links_every_runbook() -> None:
    linked = {(GUIDE.parent / target.partition("#")[0]).resolve() for target in links(GUIDE)}
    missing = [rel(rb) for rb in RUNBOOKS if rb.resolve() not in linked]
    assert not missing, f"runbooks not linked from the guide: {missing}"


def test_guide_keeps_the_generic_guides_sections() -> None:
    if not SPEC.exists():
        pytest.skip("the generic guide is not next to this checkout")
    ours = {line.strip() for line in prose(read(GUIDE)).splitlines() if line.startswith("#")}
    for line in prose(read(SPEC)).splitlines():
        if re.match(r"^#{2,3} \d+(\.\d+)*\.? ", line):
            assert line.strip() in ours, f"section heading missing from the guide: {line}"


def test_command_map_names_every_original_command() -> None:
    """The map at the top lists each script and AWS command the generic guide uses."""
    start = read(GUIDE).index("### Command map")
    table = read(GUIDE)[start:read(GUIDE).index("### Corrections")]
    first_cells = " ".join(line.split(" | ")[0] for line in table.splitlines() if line.startswith("| "))
    expected = {
        "python -m scripts.verify_faiss_index", "python -m scripts.check_vector_consistency",
        "python -m scripts.verify_document_vectors", "python -m scripts.reprocess_document",
        "python -m scripts.test_vector_search", "python -m scripts.test_llm_service",
        "python -m scripts.estimate_token_usage", "python -m scripts.benchmark_vector_search",
        "./scripts/rebuild-vector-index.sh --backup", "./scripts/test-alerts.sh", "./scripts/rollback.sh",
        "ps aux \\| grep uvicorn", "docker logs -f document-management-api", "aws ecs", "aws logs",
        "aws cloudwatch", "aws cloudformation", "terraform", "aws elbv2", "aws s3", "aws s3api",
        "aws secretsmanager", "RDS", "CloudTrail", "psql -h <db-host>", "docker update --cpu=2",
    }
    if SPEC.exists():
        spec = read(SPEC)
        expected |= {f"python -m scripts.{s}" for s in re.findall(r"python -m scripts\.(\w+)", spec)}
        expected |= {f"./scripts/{s}" for s in re.findall(r"\./scripts/([\w-]+\.sh)", spec)}
    missing = sorted(e for e in expected if e not in first_cells)
    assert not missing, f"the command map lacks: {missing}"


def test_code_blocks_carry_no_known_mistakes() -> None:
    """The generic guide's errors (see its Corrections list) stay out of runnable code."""
    for path in DOCS:
        for block in fenced_blocks(read(path)):
            text = join_continuations(block.text)
            assert "~=" not in text.replace("!~", "").replace("=~", ""), f"{rel(path)}: PromQL `~=` in\n{text}"
            for line in text.splitlines():
                code = line.split("#", 1)[0] if block.lang in ("bash", "sh", "") else line
                assert not re.match(r"^\s*\{\s*\}", code), f"{rel(path)}: LogQL `{{}}` without a matcher: {line}"
                assert "docker update --cpu=" not in code, f"{rel(path)}: `--cpu` is `--cpus`: {line}"
                if "curl" in code and "/api/v1/query?" in code:
                    assert re.search(r"\s-\w*g|--globoff", code), f"{rel(path)}: PromQL in a URL needs -g: {line}"
            if path == GUIDE:
                assert "9093/api/v1/" not in text, f"Alertmanager v1 API in the guide:\n{text}"
