"""``deploy/grafana/oms.json``: every query names only metrics the app really exposes —
the API's ``/metrics`` and the worker's SDK metrics, both scraped here from running
processes (the worker after an activity has failed once, so its failure counter exists).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client

from domain import names
from tests.api.injected import BROKEN, InjectedOrder

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "oms.json"
METRIC = re.compile(r"\b(?:oms|temporal)_[a-z0-9_]+\b")


def exposed(text: str) -> set[str]:
    found: set[str] = set()
    for family in text_string_to_metric_families(text):
        found.add(family.name)
        found.update(sample.name for sample in family.samples)
        if family.type == "counter":  # declared, maybe with no labelled child yet
            found.add(f"{family.name}_total")
        if family.type == "histogram":
            found.update(f"{family.name}_{s}" for s in ("bucket", "sum", "count"))
    return found


def queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]]


async def test_every_dashboard_query_names_metrics_the_app_exposes(
    http: httpx.AsyncClient, metrics_worker: tuple[str, str, Client]
) -> None:
    target, queue, client = metrics_worker
    BROKEN["activity"] = True
    handle = await client.start_workflow(
        InjectedOrder.run,
        "activity",
        id=names.order_workflow_id(f"GRAF{uuid.uuid4().hex[:8].upper()}"),
        task_queue=queue,
    )
    try:
        for _ in range(200):  # failed at least once, then let it succeed
            desc = (await handle.describe()).raw_description
            if desc.pending_activities and desc.pending_activities[0].attempt >= 2:
                break
            await asyncio.sleep(0.05)
        BROKEN["activity"] = False
        for _ in range(200):
            if not (await handle.describe()).raw_description.pending_activities:
                break
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient() as plain:
            sdk = (await plain.get(f"http://{target}/metrics")).text
    finally:
        BROKEN["activity"] = False
        await handle.terminate("test over")
    api = (await http.get("/metrics")).text
    known = exposed(api) | exposed(sdk)
    panels: list[Any] = json.loads(DASHBOARD.read_text())["panels"]
    titles = {p["title"] for p in panels}
    for needed in ("Orders by status", "Stuck orders by reason", "Scan accuracy"):
        assert needed in titles
    for expr in queries():
        named = set(METRIC.findall(expr))
        assert named, f"no metric in {expr!r}"
        assert named <= known, f"{expr!r} names {sorted(named - known)}, not exposed"
