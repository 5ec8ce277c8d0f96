"""A real Prometheus (Debian's ``prometheus`` binary, in a temporary directory) scrapes the
test's API over HTTP and a worker's SDK metrics, evaluates ``deploy/prometheus/alerts.yml``,
and ``OmsOrdersStuck`` fires for an order the watchdog found stuck (its activity keeps
failing). The test runs the sweeps itself (``run_watchdog_sweep``).

The config is ``deploy/prometheus/prometheus.yml`` with the targets pointed here and the
intervals at 1 s; the rules are ``alerts.yml`` as deployed except ``OmsOrdersStuck``'s
``for:`` (10 minutes there), set to 0 s so the test need not wait ten minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from fastapi import FastAPI
from temporalio.client import Client

from domain import names
from oms.background import run_watchdog_sweep
from oms.settings import Settings
from tests.api.conftest import free_port
from tests.api.injected import BROKEN, InjectedOrder
from tests.conftest import missing_tool

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


@pytest.fixture
async def served_api(api_app: FastAPI) -> AsyncIterator[str]:
    """The test's API on a real port (its lifespan already runs for the session)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(api_app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "the API did not start"
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    await task


def prometheus_files(tmp: Path, api: str, worker: str) -> Path:
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == "OmsOrdersStuck":
                rule["for"] = "0s"
    (tmp / "alerts.yml").write_text(yaml.safe_dump(rules))
    # The deployed config, its API and worker jobs pointed here (compose finds the replicas
    # by DNS; here there is one of each), faster intervals, no Alertmanager or Temporal.
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    config["rule_files"] = [str(tmp / "alerts.yml")]
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config.pop("alerting", None)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name, target in (("oms-api", api), ("oms-worker", worker)):
        job = jobs[name]
        job.pop("dns_sd_configs", None)
        job["static_configs"] = [{"targets": [target]}]
    config["scrape_configs"] = [jobs["oms-api"], jobs["oms-worker"]]
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    return tmp / "prometheus.yml"


@pytest.fixture
def prometheus(tmp_path: Path, served_api: str, metrics_worker: tuple[str, str, Client]) -> Any:
    binary = shutil.which("prometheus")
    if binary is None:
        missing_tool("prometheus", "prometheus")
    port = free_port()
    config = prometheus_files(tmp_path, served_api, metrics_worker[0])
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "prometheus.log").open("w"),
    )
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


async def test_prometheus_fires_orders_stuck_for_an_order_the_watchdog_found(
    prometheus: str,
    metrics_worker: tuple[str, str, Client],
    client: Client,
    worker: Any,
    settings: Settings,
) -> None:
    _, queue, worker_client = metrics_worker
    tuned = settings.model_copy(update={"watchdog_activity_attempts": 3})
    BROKEN["activity"] = True
    order_id = f"PROM{uuid.uuid4().hex[:8].upper()}"
    handle = await worker_client.start_workflow(
        InjectedOrder.run, "activity", id=names.order_workflow_id(order_id), task_queue=queue
    )
    firing: list[dict[str, Any]] = []
    up: dict[str, str] = {}
    try:
        async with httpx.AsyncClient(base_url=prometheus) as prom:
            for _ in range(240):
                # A sweep of the test's own, waited for (not the shared Schedule's trigger:
                # where that one points depends on which stacks ran before).
                await run_watchdog_sweep(client, tuned)
                await asyncio.sleep(0.5)
                with contextlib.suppress(httpx.TransportError):
                    alerts = (await prom.get("/api/v1/alerts")).json()["data"]["alerts"]
                    firing = [
                        a
                        for a in alerts
                        if a["labels"]["alertname"] == "OmsOrdersStuck"
                        and a["labels"].get("reason") == "activity_failing"
                        and a["state"] == "firing"
                    ]
                    targets = (await prom.get("/api/v1/targets")).json()["data"]
                    up = {t["labels"]["job"]: t["health"] for t in targets["activeTargets"]}
                if firing and up.get("oms-api") == "up" and up.get("oms-worker") == "up":
                    break
            else:
                raise AssertionError(f"never fired: {firing} targets {up}")
            # The worker's SDK metrics were scraped, with this worker's activity failures.
            r = await prom.get(
                "/api/v1/query",
                params={"query": 'temporal_activity_execution_failed{job="oms-worker"}'},
            )
            failed = r.json()["data"]["result"]
            assert any(s["metric"].get("activity_type") == "injected_dependency" for s in failed), (
                failed
            )
        assert firing[0]["labels"]["severity"] == "page"
        assert firing[0]["annotations"]["runbook"] == "docs/runbooks.md#stuck-orders"
    finally:
        BROKEN["activity"] = False
        with contextlib.suppress(Exception):
            await handle.terminate("test over")
