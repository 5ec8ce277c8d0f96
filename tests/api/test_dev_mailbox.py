"""``/dev/mailbox`` (HTML) and ``/dev/mailbox.json``: what the dev SMTP sink caught,
admin only, and only while the sink is the configured SMTP server (404 otherwise)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.app import create_app
from integrations.email import smtp
from integrations.email.render import EmailContext, ShipmentInfo, build_message, render
from oms.mailsink import serve
from oms.settings import Settings
from tests.api.conftest import KeyMaker
from tests.api.dashboard_helpers import sign_in


@pytest.fixture(scope="module")
async def sink(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[str]:
    """The real sink (aiosmtpd) on the session's database; its URL."""
    server = await serve(sessions, "127.0.0.1", 0)
    try:
        yield f"smtp://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture(scope="module")
async def mailbox_http(
    settings: Settings, client: Client, engine: AsyncEngine, sink: str
) -> AsyncIterator[httpx.AsyncClient]:
    """An API whose SMTP server is the dev sink (as ``oms dev`` configures it)."""
    own = settings.model_copy(update={"smtp_url": sink, "dev_smtp_sink": sink})
    app: FastAPI = create_app(own, client=client, engine=engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as c:
            yield c


async def mail(sink: str, milestone: str, *, times: int = 1) -> tuple[str, str]:
    """Send one rendered customer email to the sink (``times`` copies); (order, Message-ID)."""
    order_id = f"mb-{uuid.uuid4().hex[:8]}"
    ctx = EmailContext(
        milestone=milestone,
        order_id=order_id,
        order_name=f"#{order_id}",
        tracking_page_url="https://shop.example/track/t",
        shipment=ShipmentInfo(
            f"{order_id}-1", "sandbox", "SBX1", "https://t.example/SBX1", "shipped"
        )
        if milestone == "shipped"
        else None,
    )
    message_id = f"<notify.{uuid.uuid4().hex}@shop.example>"
    message = build_message(
        ctx,
        render(ctx),
        to=f"{order_id}@example.com",
        mail_from="orders@shop.example",
        message_id=message_id,
        date=datetime.now(UTC),
    )
    for _ in range(times):
        await smtp.send(smtp.SmtpTarget.parse(sink), message)
    return order_id, message_id


async def test_the_json_lists_what_the_sink_caught_newest_first_once_per_message_id(
    mailbox_http: httpx.AsyncClient, sink: str, admin: dict[str, str]
) -> None:
    older, older_id = await mail(sink, "confirmed")
    newer, newer_id = await mail(sink, "shipped", times=2)

    r = await mailbox_http.get("/dev/mailbox.json", headers=admin)
    assert r.status_code == 200
    entries = r.json()
    ours = [e for e in entries if e["order_id"] in (older, newer)]
    assert [e["order_id"] for e in ours] == [newer, older]
    shipped, confirmed = ours
    assert set(shipped) >= {
        "to",
        "subject",
        "milestone",
        "order_id",
        "shipment_id",
        "message_id",
        "at",
    }
    assert shipped["to"] == f"{newer}@example.com"
    assert shipped["subject"] == f"Order #{newer} is on its way"
    assert shipped["milestone"] == "shipped"
    assert shipped["shipment_id"] == f"{newer}-1"
    assert shipped["message_id"] == newer_id
    assert shipped["copies"] == 2  # sent twice, listed once
    assert confirmed["shipment_id"] is None and confirmed["message_id"] == older_id
    datetime.fromisoformat(shipped["at"])


async def test_only_admins_read_the_mailbox(
    mailbox_http: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    assert (await mailbox_http.get("/dev/mailbox.json")).status_code == 401
    ops = await make_key("ops")
    r = await mailbox_http.get("/dev/mailbox.json", headers=ops)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    page = await mailbox_http.get("/dev/mailbox")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert (await mailbox_http.get("/dev/mailbox", headers=ops)).status_code == 403
    async with sign_in(mailbox_http, ops) as browser:
        assert (await browser.get("/dev/mailbox")).status_code == 403


async def test_the_html_mailbox_lists_and_shows_each_mail(
    mailbox_http: httpx.AsyncClient, sink: str, admin: dict[str, str]
) -> None:
    order_id, _ = await mail(sink, "delivered")
    async with sign_in(mailbox_http, admin) as browser:
        listing = await browser.get("/dev/mailbox")
        assert listing.status_code == 200
        assert f"Order #{order_id} was delivered" in listing.text
        (entry,) = [
            e for e in (await browser.get("/dev/mailbox.json")).json() if e["order_id"] == order_id
        ]
        assert f'href="/dev/mailbox/{entry["id"]}"' in listing.text
        one = await browser.get(f"/dev/mailbox/{entry['id']}")
        assert one.status_code == 200
        assert "https://shop.example/track/t" in one.text
        assert "<iframe" in one.text and "sandbox" in one.text
        assert (await browser.get("/dev/mailbox/999999999")).status_code == 404
    # curl with the admin key reads the same pages.
    by_key = await mailbox_http.get(f"/dev/mailbox/{entry['id']}", headers=admin)
    assert by_key.status_code == 200 and "https://shop.example/track/t" in by_key.text


async def test_without_the_sink_as_smtp_server_there_is_no_mailbox(
    http: httpx.AsyncClient,
    settings: Settings,
    client: Client,
    engine: AsyncEngine,
    admin: dict[str, str],
    sink: str,
) -> None:
    # The session's API has no SMTP server configured at all.
    assert (await http.get("/dev/mailbox.json", headers=admin)).status_code == 404
    assert (await http.get("/dev/mailbox.json")).status_code == 404
    # A sink running while OMS_SMTP_URL names another server: still none.
    own = settings.model_copy(update={"smtp_url": "smtp://mail.example:587", "dev_smtp_sink": sink})
    app = create_app(own, client=client, engine=engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as c:
            assert (await c.get("/dev/mailbox.json", headers=admin)).status_code == 404
            async with sign_in(c, admin) as browser:
                assert (await browser.get("/dev/mailbox")).status_code == 404
