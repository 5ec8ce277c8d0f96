"""Labels as the sandbox carrier prints them: a 4x6 in PDF whose barcode scans back to the
tracking number, the same label in ZPL, and the same label again for a retried purchase."""

from __future__ import annotations

import json
import re
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.models import Address
from integrations.carriers import SandboxCarrier
from integrations.labels import LabelContent, render_pdf, render_zpl
from integrations.sandbox import SandboxBehaviour
from store.tables import SandboxOperation
from tests.integrations.label_reader import barcodes, page_count_and_size, text

FROM = Address(name="Shipshape Portland", address1="Warehouse WH-PDX", country_code="US")
TO = Address(
    name="Jane Doe",
    address1="1 Main St",
    address2="Apt 4",
    city="Portland",
    province_code="OR",
    zip="97205",
    country_code="US",
)


def content(number: str = "SBX0123456789AB", **changes: object) -> LabelContent:
    base = {
        "carrier": "sandbox",
        "tracking_number": number,
        "service_level": "express",
        "weight_grams": 1560,
        "ship_from": FROM,
        "ship_to": TO,
        "reference": "demo-1-1",
    }
    return LabelContent(**{**base, **changes})  # type: ignore[arg-type]


def test_pdf_is_one_4x6_page_whose_barcode_reads_back_the_tracking_number() -> None:
    pdf = render_pdf(content())
    assert pdf.startswith(b"%PDF-")
    pages, size = page_count_and_size(pdf)
    assert pages == 1 and size == (288.0, 432.0)
    assert barcodes(pdf) == [("Code128", "SBX0123456789AB")]
    printed = text(pdf)
    for expected in (
        "SHIP TO",
        "Jane Doe",
        "1 Main St",
        "Portland OR 97205",
        "SHIP FROM",
        "Shipshape Portland",
        "EXPRESS",
        "1.56 kg",
        "SBX0123456789AB",
    ):
        assert expected in printed, (expected, printed)


def test_pdf_is_deterministic() -> None:
    assert render_pdf(content()) == render_pdf(content())
    assert render_pdf(content()) != render_pdf(content(weight_grams=900))


def test_zpl_is_one_format_with_a_code128_field_of_the_number() -> None:
    zpl = render_zpl(content())
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1
    fields = re.findall(r"\^BC[^\^]*(?:\^FH)?\^FD([^\^]*)\^FS", zpl)
    assert fields == ["SBX0123456789AB"]
    assert "^FDJane Doe^FS" in zpl and "^FDPortland OR 97205^FS" in zpl


def test_zpl_text_cannot_inject_commands() -> None:
    hostile = TO.model_copy(update={"name": "Eve ^XZ^XA~JR_x"})
    zpl = render_zpl(content(ship_to=hostile))
    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1 and "~JR" not in zpl
    assert "^FDEve _5EXZ_5EXA_7EJR_5Fx^FS" in zpl


async def test_a_retried_purchase_gets_the_same_label_and_the_sandbox_remembers_facts_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    carrier = SandboxCarrier(sessions, SandboxBehaviour(latency_ms=(0, 1), failure_rate=0))
    key = f"label-test-{uuid.uuid4().hex}"
    args = {"ship_from": FROM, "ship_to": TO, "service_level": "standard", "weight_grams": 700}
    first = await carrier.buy_label(key=key, **args)  # type: ignore[arg-type]
    again = await carrier.buy_label(key=key, **args)  # type: ignore[arg-type]
    assert again.tracking_number == first.tracking_number
    assert again.pdf == first.pdf and again.zpl == first.zpl
    assert barcodes(first.pdf) == [("Code128", first.tracking_number)]
    other = await carrier.buy_label(key=f"{key}-2", **args)  # type: ignore[arg-type]
    assert other.tracking_number != first.tracking_number

    async with sessions() as s:
        remembered = await s.scalar(
            select(SandboxOperation.result).where(SandboxOperation.idempotency_key == key)
        )
    assert remembered is not None and remembered["tracking_number"] == first.tracking_number
    assert len(json.dumps(remembered)) < 1000  # facts, not the PDF


async def test_rates_offer_every_service_dearer_abroad(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    carrier = SandboxCarrier(sessions, SandboxBehaviour(latency_ms=(0, 1), failure_rate=0))
    home = await carrier.rates(ship_from=FROM, ship_to=TO, weight_grams=2500)
    abroad = await carrier.rates(
        ship_from=FROM, ship_to=TO.model_copy(update={"country_code": "NL"}), weight_grams=2500
    )
    assert [r.service_level for r in home] == ["standard", "express", "overnight"]
    assert all(a.amount > h.amount and a.days > h.days for a, h in zip(abroad, home, strict=True))
    assert carrier.tracking_url("SBX1") == "https://track.sandbox-carrier.test/SBX1"


async def test_find_label_returns_what_was_sold_under_a_key(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    carrier = SandboxCarrier(sessions, SandboxBehaviour(latency_ms=(0, 1), failure_rate=0))
    key = f"label-test-{uuid.uuid4().hex}"
    assert await carrier.find_label(key=key) is None
    sold = await carrier.buy_label(
        key=key, ship_from=FROM, ship_to=TO, service_level="overnight", weight_grams=300
    )
    found = await carrier.find_label(key=key)
    assert found == sold


async def test_a_purchase_remembered_before_labels_were_printed_still_prints(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A dev database from before 0008 remembers only the number for a key."""
    key = f"label-old-{uuid.uuid4().hex}"
    async with sessions.begin() as s:
        s.add(
            SandboxOperation(
                idempotency_key=key,
                service="carrier",
                kind="label",
                result={
                    "tracking_number": "SBXOLD00000001",
                    "tracking_url": "https://track.sandbox-carrier.test/SBXOLD00000001",
                    "label_url": "https://labels.sandbox-carrier.test/SBXOLD00000001.pdf",
                },
            )
        )
    carrier = SandboxCarrier(sessions, SandboxBehaviour(latency_ms=(0, 1), failure_rate=0))
    retried = await carrier.buy_label(
        key=key, ship_from=FROM, ship_to=TO, service_level="express", weight_grams=800
    )
    assert retried.tracking_number == "SBXOLD00000001" and retried.ship_to == TO
    assert barcodes(retried.pdf) == [("Code128", "SBXOLD00000001")]
    found = await carrier.find_label(key=key)
    assert found is not None and barcodes(found.pdf) == [("Code128", "SBXOLD00000001")]
