"""Each milestone's templates: subject, the carrier's tracking link and the tracking
page in both the HTML and the text part; HTML escapes what the order name brings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.email.render import (
    MILESTONES,
    EmailContext,
    ShipmentInfo,
    UnknownMilestone,
    build_message,
    message_id_for,
    render,
)
from integrations.email.smtp import SmtpTarget
from oms.mailsink import parse

PAGE = "https://shop.example/track/AbCdEfGhIjKlMnOpQrStUvWxYz012345"
SHIPMENT = ShipmentInfo(
    shipment_id="o-1-1",
    carrier="sandbox",
    tracking_number="SBX123456",
    tracking_url="https://track.sandbox-carrier.test/SBX123456",
    status="in_transit",
)
SHIPMENT_MILESTONES = {"shipped", "out_for_delivery", "delivered", "delayed"}


def context(milestone: str, name: str = "#1001") -> EmailContext:
    return EmailContext(
        milestone=milestone,
        order_id="o-1",
        order_name=name,
        tracking_page_url=PAGE,
        shipment=SHIPMENT if milestone in SHIPMENT_MILESTONES else None,
        detail="Weather delay at the Memphis hub" if milestone == "delayed" else None,
    )


def test_every_milestone_of_the_contract_has_templates() -> None:
    assert set(MILESTONES) == {
        "confirmed",
        "shipped",
        "out_for_delivery",
        "delivered",
        "delayed",
        "cancelled",
    }


@pytest.mark.parametrize("milestone", MILESTONES)
def test_each_milestone_renders_subject_links_and_both_parts(milestone: str) -> None:
    mail = render(context(milestone))
    assert "#1001" in mail.subject
    for body in (mail.text, mail.html):
        assert "#1001" in body
        assert PAGE in body
        if milestone in SHIPMENT_MILESTONES:
            assert "SBX123456" in body
            assert str(SHIPMENT.tracking_url) in body
        else:
            assert "SBX123456" not in body
    assert f'href="{PAGE}"' in mail.html
    if milestone in SHIPMENT_MILESTONES:
        assert f'href="{SHIPMENT.tracking_url}"' in mail.html
    assert "<" not in mail.text.replace("<https", "")  # the text part is text
    if milestone == "delayed":
        assert "Weather delay at the Memphis hub" in mail.text


def test_subjects_differ_per_milestone() -> None:
    assert len({render(context(m)).subject for m in MILESTONES}) == len(MILESTONES)


def test_html_escapes_the_order_name_and_text_keeps_it() -> None:
    mail = render(context("confirmed", name="#1<b>x</b>"))
    assert "<b>x</b>" not in mail.html
    assert "#1&lt;b&gt;x&lt;/b&gt;" in mail.html
    assert "#1<b>x</b>" in mail.text


def test_an_unknown_milestone_is_refused() -> None:
    with pytest.raises(UnknownMilestone):
        render(context("teleported"))


def test_the_message_carries_a_deterministic_id_and_what_it_is_about() -> None:
    ctx = context("shipped")
    mid = message_id_for("notify-o-1-1-shipped", "Shipshape <orders@shop.example>")
    assert mid == message_id_for("notify-o-1-1-shipped", "Shipshape <orders@shop.example>")
    assert mid != message_id_for("notify-o-1-1-delivered", "Shipshape <orders@shop.example>")
    assert mid.endswith("@shop.example>")
    msg = build_message(
        ctx,
        render(ctx),
        to="buyer@example.com",
        mail_from="Shipshape <orders@shop.example>",
        message_id=mid,
        date=datetime(2026, 12, 3, tzinfo=UTC),
    )
    back = parse(msg.as_bytes())
    assert str(back["Message-ID"]).strip() == mid
    assert str(back["X-OMS-Milestone"]) == "shipped"
    assert str(back["X-OMS-Order-Id"]) == "o-1"
    assert str(back["X-OMS-Shipment-Id"]) == "o-1-1"
    assert back.get_body(preferencelist=("html",)) is not None
    assert back.get_body(preferencelist=("plain",)) is not None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:8025", SmtpTarget("127.0.0.1", 8025)),
        ("smtp://mail.example", SmtpTarget("mail.example", 25)),
        (
            "smtp://u%40x:p%3Aw@mail.example:587?starttls=1",
            SmtpTarget("mail.example", 587, "u@x", "p:w", starttls=True),
        ),
        ("smtps://mail.example", SmtpTarget("mail.example", 465, use_tls=True)),
    ],
)
def test_smtp_urls(url: str, expected: SmtpTarget) -> None:
    assert SmtpTarget.parse(url) == expected
    assert "p:w" not in str(SmtpTarget.parse(url))


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "mail.example:25"])
def test_bad_smtp_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        SmtpTarget.parse(url)
