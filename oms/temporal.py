"""Temporal connection and dev-server arguments shared by the API, worker, CLI and tests."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from oms.settings import SEARCH_ATTRIBUTES, Settings


class TemporalTlsError(ValueError):
    """A certificate or key file named in the settings cannot be read."""


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A client that speaks pydantic models, as every worker and replayer must too; with
    Temporal Cloud's API key or mTLS when the settings name them (deploy/README.md)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
        api_key=settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None,
        tls=tls_config(settings),
    )


def tls_config(settings: Settings) -> bool | TLSConfig:
    """What ``Client.connect(tls=...)`` takes: False (plaintext), True (TLS with the system
    roots, e.g. Temporal Cloud with an API key) or a TLSConfig (mTLS and/or a private CA)."""
    s = settings
    files = (
        s.temporal_tls_client_cert_path,
        s.temporal_tls_client_key_path,
        s.temporal_tls_server_ca_cert_path,
    )
    if not any(files) and s.temporal_tls_server_name is None:
        return bool(s.temporal_tls or s.temporal_api_key)
    return TLSConfig(
        client_cert=_read(s.temporal_tls_client_cert_path),
        client_private_key=_read(s.temporal_tls_client_key_path),
        server_root_ca_cert=_read(s.temporal_tls_server_ca_cert_path),
        domain=s.temporal_tls_server_name,
    )


def _read(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.expanduser().read_bytes()
    except OSError as exc:
        raise TemporalTlsError(f"cannot read {path}: {exc.strerror}") from exc


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
