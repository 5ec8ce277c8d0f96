"""Configuration from the environment (pydantic-settings).

Defaults are for local development and are printed by ``oms dev``; production sets every
secret explicitly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.models import OrderOptions

DEV_SHOPIFY_SECRET = "dev-shopify-secret"
DEV_CARRIER_SECRET = "dev-carrier-secret"
_OFF = {"off", "no", "false", "none", ""}

#: Custom search attributes every namespace used by the OMS must have registered.
SEARCH_ATTRIBUTES: dict[str, str] = {
    "OrderStatus": "Keyword",
    "Warehouse": "KeywordList",
    "Tags": "KeywordList",
    "Stuck": "Bool",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    database_url: str | None = Field(default=None, alias="OMS_DATABASE_URL")
    temporal_address: str = Field(default="127.0.0.1:7233", alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", alias="TEMPORAL_NAMESPACE")
    #: Temporal Cloud / a TLS-fronted server (the Temporal CLI's variable names). An API
    #: key implies TLS; mTLS takes a client certificate and key (PEM files, as mounted from
    #: a Secret); ``TEMPORAL_TLS=true`` turns TLS on with neither (server-side TLS only).
    #: Unset: plaintext, as the dev server and an in-cluster frontend speak.
    temporal_api_key: SecretStr | None = Field(default=None, alias="TEMPORAL_API_KEY")
    temporal_tls: bool = Field(default=False, alias="TEMPORAL_TLS")
    temporal_tls_client_cert_path: Path | None = Field(
        default=None, alias="TEMPORAL_TLS_CLIENT_CERT_PATH"
    )
    temporal_tls_client_key_path: Path | None = Field(
        default=None, alias="TEMPORAL_TLS_CLIENT_KEY_PATH"
    )
    temporal_tls_server_ca_cert_path: Path | None = Field(
        default=None, alias="TEMPORAL_TLS_SERVER_CA_CERT_PATH"
    )
    temporal_tls_server_name: str | None = Field(default=None, alias="TEMPORAL_TLS_SERVER_NAME")
    task_queue: str = Field(default="oms-orders", alias="OMS_TASK_QUEUE")
    api_host: str = Field(default="127.0.0.1", alias="OMS_API_HOST")
    api_port: int = Field(default=8000, alias="OMS_API_PORT")
    data_dir: Path = Field(default=Path(".oms"), alias="OMS_DATA_DIR")
    temporal_ui_port: int = Field(default=8233, alias="OMS_TEMPORAL_UI_PORT")
    shopify_webhook_secret: str = Field(
        default=DEV_SHOPIFY_SECRET, alias="OMS_SHOPIFY_WEBHOOK_SECRET"
    )
    carrier_webhook_secret: str = Field(
        default=DEV_CARRIER_SECRET, alias="OMS_CARRIER_WEBHOOK_SECRET"
    )
    #: Sandbox adapters (payment gateway, carrier): latency range and failure rate, so the
    #: retry paths run in development as they would against the real services.
    sandbox_latency_ms: tuple[int, int] = Field(default=(20, 80), alias="OMS_SANDBOX_LATENCY_MS")
    sandbox_failure_rate: float = Field(default=0.05, alias="OMS_SANDBOX_FAILURE_RATE")
    #: The sandbox carrier's own failure rate (unset: ``OMS_SANDBOX_FAILURE_RATE``), to drill
    #: a carrier outage while payments work (``bench.pack`` measures packing through one).
    sandbox_carrier_failure_rate: float | None = Field(
        default=None, ge=0, le=1, alias="OMS_SANDBOX_CARRIER_FAILURE_RATE"
    )
    #: The sandbox carrier's road in ``oms dev``: after a label is bought it posts tracking
    #: events to the API, this many times faster than real (60: an hour of road a minute);
    #: ``off`` (or 0) posts nothing.
    sandbox_road: float | None = Field(default=60.0, alias="OMS_SANDBOX_ROAD")
    #: How long a ``pending`` payment may wait for ``orders/paid`` before the order is cancelled.
    payment_timeout_seconds: int = Field(default=3 * 24 * 3600, alias="OMS_PAYMENT_TIMEOUT_SECONDS")
    #: How often a backordered order retries allocation when no adjustment wakes it.
    backorder_recheck_seconds: int = Field(default=6 * 3600, alias="OMS_BACKORDER_RECHECK_SECONDS")
    #: How long ``POST /pack`` waits for the label before answering 202 ``pending`` (it
    #: stops waiting at once when the carrier has failed an attempt).
    pack_label_wait_seconds: float = Field(
        default=5.0, ge=0, le=60, alias="OMS_PACK_LABEL_WAIT_SECONDS"
    )
    #: A packed shipment still without a label after this is stuck (``carrier_unavailable``).
    label_sla_seconds: int = Field(default=600, ge=1, alias="OMS_LABEL_SLA_SECONDS")
    #: A shipped parcel with no tracking news for this long is stuck (``tracking_stale``).
    tracking_stale_hours: float = Field(default=72, gt=0, alias="OMS_TRACKING_STALE_HOURS")
    #: The store's home country (ISO 3166 alpha-2): orders shipping elsewhere are tagged
    #: ``international`` by the default tag rules.
    home_country: str = Field(
        default="US", min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$", alias="OMS_HOME_COUNTRY"
    )
    worker_metrics_port: int | None = Field(default=None, alias="OMS_WORKER_METRICS_PORT")
    #: Graceful shutdown (SIGTERM): how long the worker lets running activities finish
    #: before cancelling them (they are then retried elsewhere), and how long the API lets
    #: in-flight requests finish. Keep both under the orchestrator's kill deadline (``oms
    #: dev``: 15 s; k8s: terminationGracePeriodSeconds).
    worker_graceful_seconds: float = Field(default=10.0, ge=0, alias="OMS_WORKER_GRACEFUL_SECONDS")
    #: Workflows the worker keeps in memory between tasks (the SDK's sticky cache; 1000 by
    #: default). Each costs ~0.85 MB here (the sandbox's per-instance modules): at the
    #: default a worker grew by 830 MB with 1,000 orders waiting at pick. An order evicted
    #: is replayed from its history at its next task (a scan): ms of CPU, no memory held
    #: for the hours it waits (docs/decisions/0012, 0014).
    worker_max_cached_workflows: int = Field(
        default=200, ge=0, alias="OMS_WORKER_MAX_CACHED_WORKFLOWS"
    )
    api_graceful_seconds: float = Field(default=10.0, ge=0, alias="OMS_API_GRACEFUL_SECONDS")
    #: Pooled Postgres connections per process, and as many again in overflow: keep
    #: 2 x pool size x processes under the server's max_connections (100 by default).
    db_pool_size: int = Field(default=10, alias="OMS_DB_POOL_SIZE")
    #: Request bodies over this many bytes are refused with 413 before they are read whole
    #: (api/input_guard.py); a route may allow more (Shopify webhooks, the CSV import).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, alias="OMS_MAX_BODY_BYTES")
    #: Shopify's order payloads with many lines run to megabytes (docs/decisions/0011).
    max_webhook_body_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, alias="OMS_MAX_WEBHOOK_BODY_BYTES"
    )
    #: How long the API trusts a verified key without reading it again (0: every request
    #: reads it). Revoking through this API process takes effect at once; other API
    #: processes notice within this many seconds.
    key_cache_seconds: float = Field(default=10.0, ge=0, alias="OMS_KEY_CACHE_SECONDS")
    #: Seconds between a channel sync's (and the low-stock watch's) outbox drains when
    #: nothing pokes them; API adjustments and imports poke, worker reservations don't.
    channel_sync_poll_seconds: float = Field(
        default=5.0, gt=0, alias="OMS_CHANNEL_SYNC_POLL_SECONDS"
    )
    #: Outbox rows every reader is past are deleted once older than this (hours).
    outbox_keep_hours: float = Field(default=24.0, ge=0, alias="OMS_OUTBOX_KEEP_HOURS")
    #: The stuck-order watchdog (a Schedule): how often it sweeps, and the attempt from
    #: which a pending activity / workflow task counts as failing.
    watchdog_every_seconds: float = Field(default=60.0, gt=0, alias="OMS_WATCHDOG_EVERY_SECONDS")
    watchdog_activity_attempts: int = Field(default=5, ge=2, alias="OMS_WATCHDOG_ACTIVITY_ATTEMPTS")
    watchdog_task_attempts: int = Field(default=3, ge=2, alias="OMS_WATCHDOG_TASK_ATTEMPTS")
    #: How often the ``outbox-prune`` Schedule runs (minutes).
    outbox_prune_minutes: float = Field(default=15.0, gt=0, alias="OMS_OUTBOX_PRUNE_MINUTES")
    #: The worker freezes what survives each full GC pass (short pauses with a full
    #: workflow cache) and sweeps its whole heap this often (minutes); 0: CPython's own.
    #: Default 0: frozen, an evicted workflow's ~0.8 MB waits for the sweep, and a worker
    #: with orders arriving grew by 782 KiB per order waiting at pick; with CPython's
    #: collector and the 200-workflow cache it stayed flat (docs/decisions/0012, 0014).
    worker_heap_sweep_minutes: float = Field(
        default=0.0, ge=0, alias="OMS_WORKER_HEAP_SWEEP_MINUTES"
    )
    #: The API's base URL as the worker reaches it (the seeded Shopify channel points at
    #: the API's sandbox Shopify endpoint). Unset: http://OMS_API_HOST:OMS_API_PORT.
    api_url: str | None = Field(default=None, alias="OMS_API_URL")
    #: Signs the dashboard's session cookies. Every API process must share it; unset, a
    #: random one is created once under OMS_DATA_DIR (``session.secret``) and reused.
    session_secret: str | None = Field(default=None, alias="OMS_SESSION_SECRET")
    #: How long a dashboard sign-in lasts.
    session_hours: float = Field(default=12.0, gt=0, alias="OMS_SESSION_HOURS")
    #: Where engineers open an order's workflow; unset: http://127.0.0.1:OMS_TEMPORAL_UI_PORT.
    temporal_ui_url: str | None = Field(default=None, alias="OMS_TEMPORAL_UI_URL")

    #: Where customer emails go: ``smtp://[user:password@]host[:port][?starttls=1]`` (or
    #: ``smtps://`` for TLS from the start). Unset: nothing is mailed, rows stay pending.
    #: ``oms dev`` points it at its own SMTP sink unless it is set.
    smtp_url: str | None = Field(default=None, alias="OMS_SMTP_URL")
    #: The From of customer emails; its domain also names the deterministic Message-IDs.
    mail_from: str = Field(default="Shipshape <orders@shipshape.example>", alias="OMS_MAIL_FROM")
    #: The base URL customers reach the tracking page at (links in emails). Unset: the
    #: API's base URL.
    public_url: str | None = Field(default=None, alias="OMS_PUBLIC_URL")
    #: Seconds between the email sender's looks at the outbox when it is empty.
    email_poll_seconds: float = Field(default=2.0, gt=0, alias="OMS_EMAIL_POLL_SECONDS")
    #: An email the mail server has refused for this long is marked failed (hours).
    email_give_up_hours: float = Field(default=24.0, gt=0, alias="OMS_EMAIL_GIVE_UP_HOURS")
    #: Port of ``oms dev``'s SMTP sink (127.0.0.1), the default OMS_SMTP_URL there.
    dev_smtp_port: int = Field(default=8025, alias="OMS_DEV_SMTP_PORT")
    #: Set by ``oms dev`` to its sink's URL: ``/dev/mailbox`` answers only while it equals
    #: OMS_SMTP_URL (the sink is the server customer emails really go to).
    dev_smtp_sink: str | None = Field(default=None, alias="OMS_DEV_SMTP_SINK")

    #: Merchant webhooks out (docs/decisions/0007): how long a delivery is retried before
    #: it is failed, how long a receiver may take to answer, and the backoff between
    #: attempts (doubling from the first delay up to the cap).
    webhook_retry_hours: float = Field(default=24.0, gt=0, alias="OMS_WEBHOOK_RETRY_HOURS")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, alias="OMS_WEBHOOK_TIMEOUT_SECONDS")
    webhook_backoff_seconds: float = Field(default=10.0, gt=0, alias="OMS_WEBHOOK_BACKOFF_SECONDS")
    webhook_backoff_max_seconds: float = Field(
        default=3600.0, gt=0, alias="OMS_WEBHOOK_BACKOFF_MAX_SECONDS"
    )
    #: Longest pause of the worker's webhook dispatcher between looks at the queue.
    webhook_poll_seconds: float = Field(default=1.0, gt=0, alias="OMS_WEBHOOK_POLL_SECONDS")

    @field_validator("sandbox_road", mode="before")
    @classmethod
    def _road_off(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and value.strip().lower() in _OFF):
            return None
        return value

    @field_validator("sandbox_road")
    @classmethod
    def _road_positive(cls, value: float | None) -> float | None:
        if value is not None and value < 0:
            raise ValueError("OMS_SANDBOX_ROAD is a speed factor (> 0) or 'off'")
        return value or None  # 0 means off

    @model_validator(mode="after")
    def _mtls_pair(self) -> Settings:
        cert, key = self.temporal_tls_client_cert_path, self.temporal_tls_client_key_path
        if (cert is None) != (key is None):
            raise ValueError(
                "TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together (mTLS)"
            )
        return self

    @property
    def mailbox_enabled(self) -> bool:
        return bool(self.dev_smtp_sink) and self.dev_smtp_sink == self.smtp_url

    @property
    def public_base_url(self) -> str:
        return (self.public_url or self.api_base_url).rstrip("/")

    @property
    def temporal_port(self) -> int:
        return int(self.temporal_address.rsplit(":", 1)[1])

    @property
    def temporal_ui_base(self) -> str:
        base = self.temporal_ui_url or f"http://127.0.0.1:{self.temporal_ui_port}"
        return f"{base.rstrip('/')}/namespaces/{self.temporal_namespace}"

    @property
    def api_base_url(self) -> str:
        if self.api_url:
            return self.api_url.rstrip("/")
        host = self.api_host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{host}:{self.api_port}"

    def order_options(self) -> OrderOptions:
        """The timers an order's workflow takes from configuration, fixed at intake."""
        return OrderOptions(
            payment_timeout_seconds=self.payment_timeout_seconds,
            backorder_recheck_seconds=self.backorder_recheck_seconds,
            label_sla_seconds=self.label_sla_seconds,
            tracking_stale_seconds=int(self.tracking_stale_hours * 3600),
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
