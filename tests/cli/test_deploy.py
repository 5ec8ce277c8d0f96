"""deploy/: the Prometheus rules and config are valid and the alerts fire when they should;
the Kubernetes manifests and the compose file validate; every `oms` command they start
exists; the image copies every package."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import missing_tool

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def _promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        missing_tool("promtool", "prometheus")
    return found


def _run(*args: str) -> None:
    done = subprocess.run([_promtool(), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_alert_rules_are_valid() -> None:
    _run("check", "rules", str(PROMETHEUS / "alerts.yml"))


def test_alert_rules_fire_as_intended() -> None:
    _run("test", "rules", str(PROMETHEUS / "alerts_test.yml"))


def test_scrape_config_is_valid(tmp_path: Path) -> None:
    # prometheus.yml names the rules at their in-container path; check it against a copy.
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "alerts.yml")
    config = (PROMETHEUS / "prometheus.yml").read_text()
    config = config.replace("/etc/prometheus/alerts.yml", str(tmp_path / "alerts.yml"))
    (tmp_path / "prometheus.yml").write_text(config)
    _run("check", "config", str(tmp_path / "prometheus.yml"))


#: The alerts ops rely on: stuck orders, intake backlog, scan accuracy dropping,
#: carrier exceptions, activity failure rate, workflow task latency, channel sync lag.
COVERED = {
    "OmsOrdersStuck": "stuck-orders",
    "OmsIntakeBacklog": "intake-backlog",
    "OmsScanRejectionRateHigh": "scan-accuracy-dropping",
    "OmsCarrierExceptions": "carrier-exceptions",
    "OmsActivityFailuresHigh": "activity-failures",
    "OmsWorkflowTaskLatencyHigh": "workflow-task-latency",
    "OmsChannelSyncStalled": "channel-sync-lag",
}


def test_each_covered_alert_has_a_runbook_section_and_a_firing_test() -> None:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}
    runbooks = (PROMETHEUS.parents[1] / "docs" / "runbooks.md").read_text()
    sections = set(re.findall(r"^## ([a-z0-9-]+)$", runbooks, re.MULTILINE))
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]
    fired = {
        case["alertname"]
        for t in tests
        for case in t.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    for name, anchor in COVERED.items():
        assert name in alerts, name
        assert alerts[name]["annotations"]["runbook"] == f"docs/runbooks.md#{anchor}", name
        assert anchor in sections, anchor
        assert name in fired, f"{name} has no promtool test that sees it fire"
    # Every runbook an alert names exists.
    for name, rule in alerts.items():
        runbook = rule.get("annotations", {}).get("runbook")
        if runbook:
            assert runbook.split("#")[1] in sections, (name, runbook)


# --- compose, Kubernetes and the image --------------------------------------

DEPLOY = PROMETHEUS.parent
REPO = DEPLOY.parent
#: The oldest Kubernetes the manifests are for (preStop `sleep` is GA-ready from 1.30) and
#: the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.30.0", "1.31.0")


def _k8s_documents() -> list[tuple[Path, dict[str, Any]]]:
    import yaml

    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [(path, d) for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def _validate(path: Path, version: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("kubernetes-validate") or str(
        Path(sys.executable).parent / "kubernetes-validate"
    )
    return subprocess.run(
        [tool, "--strict", "--quiet", "-k", version, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_kubernetes_manifests_are_valid(version: str) -> None:
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        done = _validate(path, version)
        assert done.returncode == 0, f"{path.name}: {done.stdout}{done.stderr}"


def test_kubernetes_validation_catches_a_typo(tmp_path: Path) -> None:
    broken = (DEPLOY / "k8s" / "worker.yaml").read_text().replace("replicas: 2", "replicaz: 2")
    (tmp_path / "worker.yaml").write_text(broken)
    assert _validate(tmp_path / "worker.yaml", KUBERNETES_VERSIONS[-1]).returncode != 0


def test_kustomization_names_every_manifest() -> None:
    import yaml

    listed = set(yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())["resources"])
    present = {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


def test_every_workload_has_probes_resources_and_a_graceful_stop() -> None:
    kinds: dict[str, list[str]] = {}
    for path, doc in _k8s_documents():
        kinds.setdefault(doc["kind"], []).append(doc["metadata"]["name"])
        if doc["kind"] != "Deployment":
            continue
        pod = doc["spec"]["template"]["spec"]  # type: ignore[index]
        grace = pod["terminationGracePeriodSeconds"]
        for container in pod["containers"]:
            where = f"{path.name} {container['name']}"
            assert container["resources"]["requests"] and container["resources"]["limits"], where
            assert "livenessProbe" in container and "startupProbe" in container, where
            env = _config_map()
            setting = (
                "OMS_API_GRACEFUL_SECONDS"
                if "api" in container["command"]
                else "OMS_WORKER_GRACEFUL_SECONDS"
            )
            pre_stop = (
                container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
            )
            assert float(env[setting]) + pre_stop < grace, where
    assert kinds["HorizontalPodAutoscaler"] == ["oms-worker"]
    assert set(kinds["Deployment"]) == {"oms-api", "oms-worker"}


def _config_map() -> dict[str, str]:
    for _, doc in _k8s_documents():
        if doc["kind"] == "ConfigMap":
            return dict(doc["data"])
    raise AssertionError("no ConfigMap")


def test_compose_file_is_valid() -> None:
    """`docker compose config` when the plugin exists; the compose-spec JSON schema
    (vendored by check-jsonschema) otherwise — this machine has no compose plugin."""
    compose = DEPLOY / "docker-compose.yml"
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        done = subprocess.run(
            [docker, "compose", "-f", str(compose), "config", "--quiet"],
            capture_output=True,
            text=True,
        )
    else:
        tool = shutil.which("check-jsonschema") or str(
            Path(sys.executable).parent / "check-jsonschema"
        )
        done = subprocess.run(
            [tool, "--builtin-schema", "vendor.compose-spec", str(compose)],
            capture_output=True,
            text=True,
        )
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_runs_the_whole_system() -> None:
    import yaml

    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {
        "postgres",
        "temporal",
        "temporal-ui",
        "api",
        "worker",
        "prometheus",
        "alertmanager",
        "grafana",
    } <= set(services)
    assert (
        services["api"]["deploy"]["replicas"] == 2 and services["worker"]["deploy"]["replicas"] == 2
    )
    # The official server image on Postgres, its schema set up by the official admin tools.
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    assert services["temporal-schema"]["image"].startswith("temporalio/admin-tools:")
    # Files the services mount exist.
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: {source}"
    # The search attributes the setup creates are the ones the workflows set.
    from oms.settings import SEARCH_ATTRIBUTES

    script = (DEPLOY / "temporal" / "setup-namespace.sh").read_text()
    assert all(f"{n}={t}" in script for n, t in SEARCH_ATTRIBUTES.items())


def test_every_oms_command_in_the_manifests_exists() -> None:
    """Compose and Kubernetes start `oms <command>`: each parses with the real CLI."""
    import yaml

    from oms.cli import build_parser

    commands = [["oms", "api"]]  # the Dockerfile's CMD
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    commands += [
        s["command"] for s in compose["services"].values() if s.get("command", [""])[0] == "oms"
    ]
    for _, doc in _k8s_documents():
        spec = doc.get("spec", {})
        pod = spec.get("template", {}).get("spec", {})
        commands += [c["command"] for c in pod.get("containers", [])]
    assert len(commands) >= 6
    parser = build_parser()
    for command in commands:
        assert command[0] == "oms"
        parser.parse_args(command[1:])


def test_the_image_copies_every_package() -> None:
    """deploy/Dockerfile copies each package pyproject installs (a missing COPY is an
    image whose `oms` fails at import)."""
    import tomllib

    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    copied = {
        line.split()[1]
        for line in (DEPLOY / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
    }
    assert {p.rstrip("*") for p in packages} <= copied


def test_alertmanager_config_is_valid() -> None:
    amtool = shutil.which("amtool")
    if not amtool:
        missing_tool("amtool", "prometheus-alertmanager")
    done = subprocess.run(
        [amtool, "check-config", str(DEPLOY / "alertmanager" / "alertmanager.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
