"""Request and response models of merchant webhooks out (``/api/v1/webhooks``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.merchant_webhooks import Topic


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Where deliveries are POSTed: http(s) with a host.
    url: str = Field(min_length=1, max_length=2000)
    topics: list[Topic] = Field(min_length=1, max_length=50)

    @field_validator("url")
    @classmethod
    def _http_with_host(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            port = parts.port  # raises on a port that is not a number or out of range
        except ValueError as exc:
            raise ValueError(f"not a URL: {exc}") from exc
        del port
        if parts.scheme.lower() not in ("http", "https"):
            raise ValueError("the URL must be http or https")
        if not parts.hostname:
            raise ValueError("the URL must name a host")
        return value


class WebhookOut(BaseModel):
    """A subscription as listed (the secret is shown only once, when created)."""

    webhook_id: str
    url: str
    topics: list[Topic]
    created_at: datetime


class WebhookCreated(BaseModel):
    webhook_id: str
    #: Signs every delivery: ``X-OMS-Signature`` = hex HMAC-SHA256(raw body, secret).
    #: Shown here only; keep it.
    secret: str
    url: str
    topics: list[Topic]


class WebhookDeleted(BaseModel):
    webhook_id: str
    active: bool = False


class DeliveryOut(BaseModel):
    delivery_id: int
    event_id: uuid.UUID
    topic: Topic
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    #: When the next attempt is due (pending deliveries only).
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    #: The delivery this one sends again (``POST .../redeliver``).
    redelivery_of: int | None = None
