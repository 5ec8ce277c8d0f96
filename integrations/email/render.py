"""Customer emails from templates: one HTML and one text template per milestone (in
``templates/``, beside this module), a subject per milestone, and the message around them.

The ``Message-ID`` is made from the notification's idempotency key, so every attempt of
one notification carries the same id: a resend after a lost acknowledgement is
recognisable as the same message (docs/decisions/0006-customer-emails-outbox.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"

#: The milestones a customer hears about, with the subject of each.
SUBJECTS: dict[str, str] = {
    "confirmed": "Order {name} is confirmed",
    "shipped": "Order {name} is on its way",
    "out_for_delivery": "Order {name} is out for delivery",
    "delivered": "Order {name} was delivered",
    "delayed": "Order {name} is delayed",
    "cancelled": "Order {name} was cancelled",
}
MILESTONES = tuple(SUBJECTS)

#: Custom headers naming what a message is about (the dev mailbox lists by them).
HEADER_MILESTONE = "X-OMS-Milestone"
HEADER_ORDER = "X-OMS-Order-Id"
HEADER_SHIPMENT = "X-OMS-Shipment-Id"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class ShipmentInfo:
    shipment_id: str
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    status: str


@dataclass(frozen=True)
class EmailContext:
    """Everything a template may show: the order's name, the shipment (shipment
    milestones), the customer tracking page, and the milestone's detail (carrier words)."""

    milestone: str
    order_id: str
    order_name: str
    tracking_page_url: str
    shipment: ShipmentInfo | None = None
    detail: str | None = None
    store_name: str = "Shipshape"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class UnknownMilestone(ValueError):
    pass


def render(ctx: EmailContext) -> RenderedEmail:
    if ctx.milestone not in SUBJECTS:
        raise UnknownMilestone(f"no email template for milestone {ctx.milestone!r}")
    values: dict[str, Any] = {
        "milestone": ctx.milestone,
        "order_id": ctx.order_id,
        "order_name": ctx.order_name,
        "tracking_page_url": ctx.tracking_page_url,
        "shipment": ctx.shipment,
        "detail": ctx.detail,
        "store_name": ctx.store_name,
    }
    return RenderedEmail(
        subject=SUBJECTS[ctx.milestone].format(name=ctx.order_name),
        text=_env.get_template(f"{ctx.milestone}.txt").render(values),
        html=_env.get_template(f"{ctx.milestone}.html").render(values),
    )


def message_id_for(idempotency_key: str, mail_from: str) -> str:
    """``<hash-of-key@domain-of-sender>``: the same for every attempt of one notification."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "shipshape.invalid"
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<notify.{digest}@{domain}>"


def build_message(
    ctx: EmailContext,
    content: RenderedEmail,
    *,
    to: str,
    mail_from: str,
    message_id: str,
    date: datetime,
) -> EmailMessage:
    msg = EmailMessage()
    name, addr = parseaddr(mail_from)
    msg["From"] = Address(display_name=name, addr_spec=addr) if name else addr
    msg["To"] = to
    msg["Subject"] = content.subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg[HEADER_MILESTONE] = ctx.milestone
    msg[HEADER_ORDER] = ctx.order_id
    if ctx.shipment is not None:
        msg[HEADER_SHIPMENT] = ctx.shipment.shipment_id
    msg.set_content(content.text)
    msg.add_alternative(content.html, subtype="html")
    return msg
