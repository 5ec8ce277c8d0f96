"""What ``oms dev`` prints once the stack is ready: where everything is, the admin key and
webhook secrets, and how to send it a first order."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from oms.devstack.admin_key import ADMIN_KEY_FILE
from oms.devstack.commands import temporal_host
from oms.settings import DEV_CARRIER_SECRET, DEV_SHOPIFY_SECRET

if TYPE_CHECKING:
    from oms.devstack.stack import DevStack

DEMO_ORDER = Path(__file__).parent.with_name("demo_order.json")


def render_banner(stack: DevStack, elapsed: float) -> str:
    s = stack.settings
    host = temporal_host(s)
    shopify = s.shopify_webhook_secret
    carrier = s.carrier_webhook_secret
    dev_note = (
        " (dev defaults — set OMS_SHOPIFY_WEBHOOK_SECRET / OMS_CARRIER_WEBHOOK_SECRET"
        " for anything real)"
        if (shopify, carrier) == (DEV_SHOPIFY_SECRET, DEV_CARRIER_SECRET)
        else ""
    )
    lines = [
        "",
        f"Shipshape OMS dev stack ready in {elapsed:.1f}s",
        "",
        f"  API          {stack.api_url}",
        f"  API docs     {stack.api_url}/docs",
        f"  Dashboard    {stack.api_url}/   (sign in with the admin key below)",
        f"  Temporal UI  http://{host}:{s.temporal_ui_port}"
        f"   (namespace {s.temporal_namespace}, gRPC {s.temporal_address})",
        f"  Admin key    {stack.admin_key}",
        f"               (saved in {stack.directory / ADMIN_KEY_FILE})",
        f"  Data dir     {stack.directory}   (logs: temporal.log, worker.log, api.log"
        + (", road.log)" if s.sandbox_road is not None else ")"),
        (
            f"  Mailbox      {stack.api_url}/dev/mailbox   (customer emails, caught by the"
            f" sink on {stack.mail_sink_url})"
            if stack.runs_mail_sink
            else f"  Emails       sent to OMS_SMTP_URL ({redact_smtp(s.smtp_url or '')})"
        ),
        f"  Webhook secrets{dev_note}:",
        f"    Shopify    {shopify}",
        f"    Carrier    {carrier}",
        "",
        "Try it:",
        f"  body={DEMO_ORDER}",
        f"  sig=$(openssl dgst -sha256 -hmac '{shopify}' -binary \"$body\" | base64)",
        f'  curl -X POST {stack.api_url}/webhooks/shopify --data-binary @"$body" \\',
        "    -H 'Content-Type: application/json' -H 'X-Shopify-Topic: orders/create' \\",
        '    -H "X-Shopify-Hmac-Sha256: $sig" \\',
        "    -H 'X-Shopify-Shop-Domain: demo.myshopify.com' \\",
        "    -H 'X-Shopify-Webhook-Id: demo-order-1'",
        f"  curl -H 'Authorization: Bearer {stack.admin_key}' {stack.api_url}/api/v1/orders",
        "  # or sell one in the sandbox Shopify store (what happens to it is written back):",
        "  .venv/bin/oms shop-order TEA-SEN-100:2 COF-FIL-500",
        "",
        "Ctrl-C stops everything; `oms dev` again resumes with the same data.",
    ]
    return "\n".join(lines)


def redact_smtp(url: str) -> str:
    from integrations.email.smtp import SmtpTarget

    try:
        return str(SmtpTarget.parse(url))
    except ValueError:
        return "<unparseable url>"


def redact_database_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable url>"
