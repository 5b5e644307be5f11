"""Prometheus (scrape config, alert rules and their runbooks), Alertmanager, Loki and Promtail
configs are valid and consistent with the compose stack and the application's logs.
promtool/amtool checks run where those tools are installed and are skipped elsewhere."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from opsfiles import (
    OPS,
    ROOT,
    RUNBOOKS,
    SECTIONS,
    compose,
    load_yaml,
    prometheus_exprs_of_dashboards,
    run,
    tool,
    volume_sources,
)

REQUIRED_ALERTS = {"HighErrorRate", "HighLatency", "IngestionFailures", "QueueBacklog", "LLMErrors",
                   "DatabaseDown", "IndexInconsistent"}
RULE_FILES = sorted((OPS / "prometheus" / "rules").glob("*.yml"))


def _alerts() -> list[dict]:
    return [rule for f in RULE_FILES for group in load_yaml(f)["groups"] for rule in group["rules"] if "alert" in rule]


# ------------------------------------------------------------------ Prometheus


def test_prometheus_scrapes_the_api_as_job_api() -> None:
    conf = load_yaml(OPS / "prometheus" / "prometheus.yml")
    jobs = {job["job_name"]: job for job in conf["scrape_configs"]}
    targets = [t for sc in jobs["api"]["static_configs"] for t in sc["targets"]]
    assert targets == ["api:8000"] and jobs["api"].get("metrics_path", "/metrics") == "/metrics"
    services = compose()["services"]
    for job in jobs.values():
        for sc in job.get("static_configs", []):
            for target in sc["targets"]:
                host = target.split(":")[0]
                assert host == "localhost" or host in services, f"{job['job_name']}: no service {host}"
    for pattern in conf["rule_files"]:
        assert list((OPS / "prometheus").glob(pattern)), f"rule_files {pattern} matches nothing"
    mounts = dict(volume_sources(services["prometheus"]))
    assert mounts["./ops/prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert mounts["./ops/prometheus/rules"] == "/etc/prometheus/rules"


def test_alert_rules_are_complete() -> None:
    assert RULE_FILES
    alerts = _alerts()
    assert REQUIRED_ALERTS <= {a["alert"] for a in alerts}
    exprs = " ".join(a["expr"] for a in alerts)
    assert "vector_index_consistent" in exprs and "vector_index_loaded" in exprs
    for alert in alerts:
        assert alert["labels"]["severity"] in {"critical", "warning", "info"}, alert["alert"]
        for key in ("summary", "description", "runbook_url"):
            assert alert["annotations"].get(key), f"{alert['alert']}: no {key}"


def test_every_runbook_url_is_a_runbook_with_the_four_sections() -> None:
    for alert in _alerts():
        url = alert["annotations"]["runbook_url"]
        path = ROOT / url
        assert path.is_file() and path.parent == RUNBOOKS, f"{alert['alert']}: {url} is not a file in ops/runbooks"
        text = path.read_text()
        for section in SECTIONS:
            assert re.search(rf"^{section}\s*$", text, re.M), f"{url}: no {section}"


def test_promtool_check_rules_and_config() -> None:
    promtool = tool("promtool")
    result = run(promtool, "check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    result = run(promtool, "check", "config", "ops/prometheus/prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_kubernetes_config() -> None:
    promtool = tool("promtool")
    result = run(promtool, "check", "config", "ops/prometheus/prometheus-k8s.yml")
    if result.returncode and "kubernetes_sd_configs not found" in result.stdout + result.stderr:
        pytest.skip("this promtool build has no Kubernetes service discovery (Debian strips it)")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_alert_unit_tests() -> None:
    promtool = tool("promtool")
    result = run(promtool, "test", "rules", "ops/prometheus/tests/docman_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    promtool = tool("promtool")
    exprs = prometheus_exprs_of_dashboards()
    rules = [{"record": f"dashboard:query_{i}", "expr": expr} for i, (_, expr) in enumerate(exprs)]
    path = tmp_path / "dashboards.yml"
    path.write_text(json.dumps({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run(promtool, "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------ Alertmanager, Loki, Promtail


def test_alertmanager_config() -> None:
    conf = load_yaml(OPS / "alertmanager" / "alertmanager.yml")
    receivers = {r["name"] for r in conf["receivers"]}
    assert conf["route"]["receiver"] in receivers
    for route in conf["route"].get("routes", []):
        assert route.get("receiver", conf["route"]["receiver"]) in receivers
    image = compose()["services"]["alertmanager"]["image"]
    version = tuple(int(n) for n in image.rsplit(":v", 1)[1].split("."))
    assert version < (0, 27), "Alertmanager 0.27 removed /api/v1, which the operators' guide uses"


def test_amtool_check_config() -> None:
    amtool = tool("amtool")
    result = run(amtool, "check-config", "ops/alertmanager/alertmanager.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_loki_config() -> None:
    conf = load_yaml(OPS / "loki" / "loki.yml")
    assert conf["server"]["http_listen_port"] == 3100
    assert conf["auth_enabled"] is False
    assert all(c["schema"] == "v13" and c["store"] == "tsdb" for c in conf["schema_config"]["configs"])


def test_promtail_labels_match_the_guide() -> None:
    conf = load_yaml(OPS / "loki" / "promtail.yml")
    assert conf["clients"][0]["url"] == "http://loki:3100/loki/api/v1/push"
    (scrape,) = conf["scrape_configs"]
    label_filter = scrape["docker_sd_configs"][0]["filters"][0]["values"][0]
    key, value = label_filter.split("=")
    for name in ("api", "worker"):
        assert compose()["services"][name]["labels"][key] == value, f"promtail does not collect {name}'s logs"
    relabel = {r["target_label"]: r["source_labels"] for r in scrape["relabel_configs"]}
    assert relabel["job"] == ["__meta_docker_container_label_com_docker_compose_service"]  # {job="api"}
    assert relabel["container"] == ["__meta_docker_container_name"]
    stages = {next(iter(s)): next(iter(s.values())) for s in scrape["pipeline_stages"]}
    assert stages["json"]["expressions"]["service"] == "service"
    assert "service" in stages["labels"] and "level" in stages["labels"]


def _log_line(json_mode: bool) -> str:
    code = ("from loguru import logger; from server.logs import configure_logging; "
            f"configure_logging('INFO', {json_mode}, 10); "
            "logger.bind(service='document_processor', document_id='d-1').info('extracted 3 pages')")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stderr.strip().splitlines()[-1]


def test_promtail_extracts_service_and_level_from_real_log_lines() -> None:
    stages = load_yaml(OPS / "loki" / "promtail.yml")["scrape_configs"][0]["pipeline_stages"]
    pattern = re.compile(next(s["regex"]["expression"] for s in stages if "regex" in s))
    record = json.loads(_log_line(json_mode=True))
    assert (record["service"], record["level"]) == ("document_processor", "INFO")
    assert "correlation_id=" in record["tags"] and "document_id=d-1" in record["tags"]
    assert pattern.match(json.dumps(record)) is None, "the plain-line regex must leave JSON lines to the json stage"
    match = pattern.match(_log_line(json_mode=False))
    assert match and match.group("service") == "document_processor" and match.group("level") == "INFO"
