"""Temporal Cloud settings: an API key or mTLS reach ``Client.connect`` (deploy/README.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.service import TLSConfig

from oms.settings import Settings
from oms.temporal import TemporalTlsError, connect, tls_config


def _settings(**env: str) -> Settings:
    return Settings.model_validate(env)


def test_plaintext_by_default() -> None:
    assert tls_config(_settings()) is False


def test_an_api_key_implies_tls() -> None:
    assert tls_config(_settings(TEMPORAL_API_KEY="k")) is True
    assert tls_config(_settings(TEMPORAL_TLS="true")) is True


def test_mtls_reads_the_pem_files(tmp_path: Path) -> None:
    (tmp_path / "c.pem").write_bytes(b"CERT")
    (tmp_path / "k.pem").write_bytes(b"KEY")
    (tmp_path / "ca.pem").write_bytes(b"CA")
    tls = tls_config(
        _settings(
            TEMPORAL_TLS_CLIENT_CERT_PATH=str(tmp_path / "c.pem"),
            TEMPORAL_TLS_CLIENT_KEY_PATH=str(tmp_path / "k.pem"),
            TEMPORAL_TLS_SERVER_CA_CERT_PATH=str(tmp_path / "ca.pem"),
            TEMPORAL_TLS_SERVER_NAME="ns.acct.tmprl.cloud",
        )
    )
    assert tls == TLSConfig(
        client_cert=b"CERT",
        client_private_key=b"KEY",
        server_root_ca_cert=b"CA",
        domain="ns.acct.tmprl.cloud",
    )


def test_a_certificate_needs_its_key(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="go together"):
        _settings(TEMPORAL_TLS_CLIENT_CERT_PATH=str(tmp_path / "c.pem"))


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    s = _settings(
        TEMPORAL_TLS_CLIENT_CERT_PATH=str(tmp_path / "missing.pem"),
        TEMPORAL_TLS_CLIENT_KEY_PATH=str(tmp_path / "missing.key"),
    )
    with pytest.raises(TemporalTlsError, match="missing.pem"):
        tls_config(s)


async def test_connect_passes_the_key_and_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    async def fake_connect(target: str, **kwargs: Any) -> str:
        seen.update(kwargs, target=target)
        return "client"

    monkeypatch.setattr(Client, "connect", fake_connect)
    await connect(
        _settings(
            TEMPORAL_ADDRESS="us-east-1.aws.api.temporal.io:7233",
            TEMPORAL_NAMESPACE="oms.acct",
            TEMPORAL_API_KEY="secret-key",
        )
    )
    assert seen["target"] == "us-east-1.aws.api.temporal.io:7233"
    assert seen["namespace"] == "oms.acct"
    assert seen["api_key"] == "secret-key" and seen["tls"] is True
    assert "secret-key" not in repr(_settings(TEMPORAL_API_KEY="secret-key"))
