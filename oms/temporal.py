"""Temporal connection and dev-server arguments shared by the API, worker, CLI and tests."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from oms.settings import SEARCH_ATTRIBUTES, Settings


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A client that speaks pydantic models, as every worker and replayer must too."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
    )


def metrics_runtime(port: int, host: str = "0.0.0.0") -> Runtime:
    """A runtime whose SDK metrics (task slots, latencies, failures) Prometheus can scrape."""
    return Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"{host}:{port}"))
    )


def search_attribute_args() -> list[str]:
    """``--search-attribute Name=Type`` pairs for ``temporal server start-dev``."""
    args: list[str] = []
    for name, kind in SEARCH_ATTRIBUTES.items():
        args += ["--search-attribute", f"{name}={kind}"]
    return args


#: SQLite pragmas that roughly double the dev server's throughput here (NOTES.md).
SQLITE_PRAGMAS = ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
