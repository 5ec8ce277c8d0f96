"""Shopify webhooks: signature verification and the REST order payload → ``OrderInput``.

The signature is checked on the raw bytes before anything parses them, so a forged body
never reaches the JSON parser, let alone the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain.models import Address, LineEdit, OrderInput, OrderLine, OrderOptions
from domain.status import FinancialStatus, ShippingMethod

TOPIC_CREATE = "orders/create"
TOPIC_PAID = "orders/paid"
TOPIC_CANCELLED = "orders/cancelled"
TOPIC_UPDATED = "orders/updated"
TOPIC_EDITED = "orders/edited"


class InvalidPayload(ValueError):
    """The webhook body is not an order we can take."""


def sign(body: bytes, secret: str) -> str:
    """``X-Shopify-Hmac-Sha256`` for ``body``: base64 of its HMAC-SHA256."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify_signature(body: bytes, header: str | None, secret: str) -> bool:
    """Constant-time check of the webhook signature against the raw body."""
    if not header:
        return False
    return hmac.compare_digest(sign(body, secret).encode(), header.strip().encode())


def shop_slug(shop_domain: str) -> str:
    """``demo.myshopify.com`` → ``demo``; anything unusual is made id-safe."""
    slug = shop_domain.strip().lower().removesuffix(".myshopify.com")
    return re.sub(r"[^a-z0-9-]+", "-", slug).strip("-") or "shop"


def safe_id(raw: str, limit: int = 80) -> str:
    """An order id safe for workflow ids and URLs."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-")[:limit]


# --- the parts of Shopify's REST order we read ------------------------------------------


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ShopifyAddress(_Loose):
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province_code: str | None = None
    zip: str | None = None
    country_code: str | None = None
    phone: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    def to_domain(self) -> Address:
        name = self.name or " ".join(p for p in (self.first_name, self.last_name) if p)
        return Address(
            name=name,
            address1=self.address1 or "",
            address2=self.address2,
            city=self.city or "",
            province_code=self.province_code,
            zip=self.zip or "",
            country_code=(self.country_code or "").upper(),
            phone=self.phone,
            latitude=self.latitude,
            longitude=self.longitude,
        )


class ShopifyLineItem(_Loose):
    id: int | None = None
    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    price: Decimal = Decimal("0")
    title: str | None = None


class ShopifyShippingLine(_Loose):
    code: str | None = None
    title: str | None = None


class ShopifyCustomer(_Loose):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    orders_count: int = 0


class ShopifyRisk(_Loose):
    recommendation: str | None = None
    level: str | None = None


class ShopifyOrder(_Loose):
    id: int
    name: str
    email: str | None = None
    contact_email: str | None = None
    created_at: str | None = None
    currency: str = "USD"
    financial_status: str | None = None
    note: str | None = None
    tags: str | list[str] = ""
    total_price: Decimal = Decimal("0")
    customer: ShopifyCustomer | None = None
    billing_address: ShopifyAddress | None = None
    shipping_address: ShopifyAddress
    shipping_lines: list[ShopifyShippingLine] = Field(default_factory=list)
    line_items: list[ShopifyLineItem] = Field(min_length=1)
    risk_level: str | None = None
    risks: list[ShopifyRisk] = Field(default_factory=list)
    cancel_reason: str | None = None

    @field_validator("total_price", mode="before")
    @classmethod
    def _money(cls, v: Any) -> Any:
        return "0" if v in (None, "") else v


def shipping_method(lines: list[ShopifyShippingLine]) -> ShippingMethod:
    """Map shipping line code/title to a method: overnight > express > standard."""
    text = " ".join(f"{ln.code or ''} {ln.title or ''}" for ln in lines).lower()
    if "overnight" in text:
        return ShippingMethod.OVERNIGHT
    if "express" in text:
        return ShippingMethod.EXPRESS
    return ShippingMethod.STANDARD


def split_tags(tags: str | list[str]) -> list[str]:
    """Shopify sends tags as one comma-separated string."""
    items = tags if isinstance(tags, list) else tags.split(",")
    return list(dict.fromkeys(t.strip() for t in items if t and t.strip()))


def _financial(status: str | None) -> FinancialStatus:
    if status in ("paid", "partially_refunded", "refunded"):
        return FinancialStatus.PAID
    if status in ("authorized", "partially_paid"):
        return FinancialStatus.AUTHORIZED
    return FinancialStatus.PENDING


def _risk(order: ShopifyOrder) -> str | None:
    if order.risk_level:
        return order.risk_level.lower()
    levels = [lv for r in order.risks if (lv := r.level or r.recommendation)]
    return levels[0].lower() if levels else None


def parse_order(payload: dict[str, Any]) -> ShopifyOrder:
    """Validate the parts of a Shopify order we use.

    Raises:
        InvalidPayload: with pydantic's description of what is wrong.
    """
    try:
        return ShopifyOrder.model_validate(payload)
    except (ValidationError, InvalidOperation) as exc:
        raise InvalidPayload(str(exc)) from exc


def to_order_input(
    payload: dict[str, Any], *, shop_domain: str, options: OrderOptions | None = None
) -> OrderInput:
    """Normalise an ``orders/create`` body to the channel-independent ``OrderInput``.

    Raises:
        InvalidPayload: missing/invalid fields (no lines, no shipping address, no email ...).
    """
    order = parse_order(payload)
    slug = shop_slug(shop_domain)
    email = order.email or order.contact_email or (order.customer.email if order.customer else None)
    if not email:
        raise InvalidPayload("the order has no email")
    customer = order.customer
    customer_name = None
    if customer is not None:
        customer_name = " ".join(p for p in (customer.first_name, customer.last_name) if p) or None
    created_at = None
    if order.created_at:
        try:
            created_at = datetime.fromisoformat(order.created_at)
        except ValueError as exc:
            raise InvalidPayload(f"bad created_at {order.created_at!r}") from exc
    try:
        return OrderInput(
            order_id=safe_id(f"{slug}-{order.id}"),
            external_id=str(order.id),
            channel=f"shopify:{slug}",
            name=order.name,
            email=email,
            customer_name=customer_name or order.shipping_address.to_domain().name or None,
            customer_orders_count=customer.orders_count if customer else 0,
            shipping_address=order.shipping_address.to_domain(),
            billing_address=order.billing_address.to_domain() if order.billing_address else None,
            shipping_method=shipping_method(order.shipping_lines),
            lines=[
                OrderLine(
                    sku=li.sku,
                    quantity=li.quantity,
                    unit_price=li.price,
                    title=li.title,
                    external_id=str(li.id) if li.id is not None else None,
                )
                for li in order.line_items
            ],
            financial_status=_financial(order.financial_status),
            currency=order.currency.upper(),
            total=order.total_price,
            tags=split_tags(order.tags),
            note=order.note,
            risk_level=_risk(order),
            created_at=created_at,
            options=options or OrderOptions(),
        )
    except ValidationError as exc:
        raise InvalidPayload(str(exc)) from exc


def order_ref(payload: dict[str, Any], shop_domain: str) -> tuple[str, str]:
    """``(order_id, external_id)`` of any order topic's body (only ``id`` is needed).

    Raises:
        InvalidPayload: no usable ``id``.
    """
    raw = payload.get("id")
    if not isinstance(raw, int | str) or not str(raw).strip():
        raise InvalidPayload("the payload has no order id")
    return safe_id(f"{shop_slug(shop_domain)}-{raw}"), str(raw)


def shipping_address_of(payload: dict[str, Any]) -> Address | None:
    """The shipping address of an ``orders/updated`` body (None: it has none).

    Raises:
        InvalidPayload: an address that is not one.
    """
    raw = payload.get("shipping_address")
    if raw is None:
        return None
    try:
        return ShopifyAddress.model_validate(raw).to_domain()
    except ValidationError as exc:
        raise InvalidPayload(str(exc)) from exc


class _EditedLine(_Loose):
    id: int | str
    delta: int = Field(gt=0)


class _EditedLines(_Loose):
    additions: list[_EditedLine] = Field(default_factory=list)
    removals: list[_EditedLine] = Field(default_factory=list)


class _OrderEdit(_Loose):
    id: int | str | None = None
    order_id: int | str
    line_items: _EditedLines = Field(default_factory=_EditedLines)


def order_edit_of(payload: dict[str, Any]) -> tuple[str, LineEdit]:
    """``(Shopify order id, the edit)`` of an ``orders/edited`` body.

    Raises:
        InvalidPayload: not an order edit.
    """
    try:
        edit = _OrderEdit.model_validate(payload.get("order_edit"))
    except ValidationError as exc:
        raise InvalidPayload(str(exc)) from exc
    return str(edit.order_id), LineEdit(
        edit_id=str(edit.id) if edit.id is not None else None,
        added={str(a.id): a.delta for a in edit.line_items.additions},
        removed={str(r.id): r.delta for r in edit.line_items.removals},
    )
