"""The deployment files, checked without a container engine or a cluster: hadolint on the
Dockerfile, `docker-compose config` on the compose file, kubernetes-validate on every manifest,
and the properties deploy/README.md promises (non-root, read-only root, probes, limits)."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.30.0"
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path=str(BIN))
    if path is None:
        message = f"{name} is not installed (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def _manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def _kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in _manifests() if d["kind"] == kind]


def test_hadolint_passes_the_dockerfile() -> None:
    result = subprocess.run(
        [_tool("hadolint"), "--failure-threshold", "info", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_installs_the_runtime_lock_only_and_runs_as_non_root() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = text.count("\nFROM ")
    assert stages >= 2, "multi-stage"
    final = text.rsplit("\nFROM ", 1)[1]
    assert "requirements/runtime.lock" in text and "dev.lock" not in text
    assert "--require-hashes" in text
    assert "\nUSER 10001" in final
    assert "HEALTHCHECK" in final
    # No pip and no compiler in the final stage: its only packages are the shared libraries and
    # fonts WeasyPrint draws the PDFs with, without recommends, the lists removed.
    assert "pip install" not in final
    for build_tool in ("gcc", "build-essential", "python3-dev", "libffi-dev"):
        assert build_tool not in final, build_tool
    installs = re.findall(r"apt-get install[^\n]*", final)
    assert all("--no-install-recommends" in line for line in installs), installs
    assert not installs or "rm -rf /var/lib/apt/lists/*" in final
    ignored = (ROOT / ".dockerignore").read_text()
    for needed in ("service/", "workers/", "templates/", "migrations/", "alembic.ini"):
        assert f"COPY {needed}" in text or f"COPY {needed} " in text, needed
        assert f"!{needed}" in ignored, needed


def test_hadolint_finds_a_planted_mistake(tmp_path: Path) -> None:
    """The check above can fail: an unpinned apt-get install as root is reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:bookworm\nRUN apt-get install -y curl\n")
    result = subprocess.run([_tool("hadolint"), str(bad)], capture_output=True, text=True)
    assert result.returncode != 0 and "DL3008" in result.stdout


def _compose_config(tmp_path: Path) -> dict[str, Any]:
    """`docker-compose config` needs no engine; the env file is the committed example."""
    work = tmp_path / "deploy"
    shutil.copytree(DEPLOY, work)
    shutil.copy(work / "env.example", work / ".env")
    result = subprocess.run(
        [_tool("docker-compose"), "-f", str(work / "docker-compose.yml"), "config"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def test_docker_compose_config_is_valid_and_has_every_part(tmp_path: Path) -> None:
    services = _compose_config(tmp_path)["services"]
    assert {"api-1", "api-2", "worker-1", "worker-2", "migrate", "postgres", "redis"} <= set(
        services
    )
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["migrate"]["command"] == ["python", "-m", "service", "migrate"]
    for name in ("api-1", "api-2", "worker-1", "worker-2"):
        service = services[name]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "healthcheck" in service and service.get("read_only") is True
        assert not service.get("ports"), f"{name} publishes a port (metrics must stay inside)"
    for name in ("postgres", "redis"):
        assert "healthcheck" in services[name]
        assert any(":" in v and not v.startswith("/") for v in services[name]["volumes"])
    gitignore = (ROOT / ".gitignore").read_text().splitlines()
    assert "deploy/.env" in gitignore


def test_docker_compose_config_refuses_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text('version: "3.8"\nservices:\n  api:\n    image: x\n    depends_on: 7\n')
    result = subprocess.run(
        [_tool("docker-compose"), "-f", str(broken), "config"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0


def test_kubernetes_validate_passes_every_manifest() -> None:
    files = sorted(str(p) for p in K8S.glob("*.yaml"))
    assert len(files) >= 8
    result = subprocess.run(
        [_tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, *files],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_validate_refuses_a_misspelt_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((K8S / "service.yaml").read_text().replace("targetPort", "targetPrt"))
    result = subprocess.run(
        [_tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, str(bad)],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0


def test_kubernetes_has_every_part_the_issue_lists() -> None:
    kinds = {d["kind"] for d in _manifests()}
    assert {
        "Deployment",
        "HorizontalPodAutoscaler",
        "Job",
        "Service",
        "Ingress",
        "ConfigMap",
        "Secret",
        "PodDisruptionBudget",
    } <= kinds
    pods = [d["spec"]["template"]["spec"] for d in _kind("Deployment") + _kind("Job")]
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["resources"]["requests"] and container["resources"]["limits"]
    api = next(d for d in _kind("Deployment") if d["metadata"]["name"] == "nextwork-api")
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    (hpa,) = _kind("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "nextwork-api"
    (service,) = _kind("Service")
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"], "no metrics port"


def test_systemd_units_and_nginx_site() -> None:
    units = {p.name: p for p in (DEPLOY / "systemd").glob("*.service")}
    assert {"nextwork-api.service", "nextwork-worker@.service", "nextwork-migrate.service"} <= set(
        units
    )
    for path in units.values():
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.optionxform = str  # type: ignore[assignment,method-assign]
        unit.read_string(path.read_text())
        assert unit["Service"]["User"] == "nextwork", path.name
        assert "-m" in unit["Service"]["ExecStart"], path.name
    site = (DEPLOY / "nginx" / "nextwork.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in site
    assert "location /static/" in site and "alias /opt/nextwork/current/service/web/static/" in site
    # Page addresses carry look-up grants and drafts (?g=, ?d=): logged without their query.
    log_format = re.search(r"log_format nextwork_no_query (.*?);", site, re.S)
    assert log_format and "$request_uri" not in log_format.group(1)
    assert "$request " not in log_format.group(1) and "$args" not in log_format.group(1)
    assert "$http_referer" not in log_format.group(1) and "$uri" in log_format.group(1)
    assert "access_log /var/log/nginx/nextwork.access.log nextwork_no_query;" in site
    compose_site = (DEPLOY / "nginx" / "compose.conf").read_text()
    assert log_format.group(0) in compose_site
    assert "access_log /var/log/nginx/access.log nextwork_no_query;" in compose_site
    assert (ROOT / "service" / "web" / "static").is_dir()
    api_unit = units["nextwork-api.service"].read_text()
    assert "FORWARDED_ALLOW_IPS=127.0.0.1" in api_unit
