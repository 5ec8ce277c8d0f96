"""Shipping labels as a carrier hands them out: a 4x6 in PDF and the same label in ZPL.

A label is drawn from a few facts (addresses, service, weight, tracking number), so the
sandbox carrier remembers only those facts for an idempotency key and draws the label
again, byte for byte, when a retried purchase asks for it (reportlab's ``invariant`` mode
leaves out the creation date and the random document id). What is drawn is what a carrier
label carries: ship-from, ship-to (large), service and weight, a Code 128 barcode of the
tracking number with the number printed under it, and a reference for the packer.

ZPL is for thermal printers (203 dpi, 812 x 1218 dots for 4x6 in): one ``^XA`` … ``^XZ``
format, text fields with ``^FH`` escapes so an address can never inject a command, and a
``^BC`` Code 128 field of the tracking number with its interpretation line.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import inch
from reportlab.pdfgen import canvas

from domain.models import Address

PAGE = (4 * inch, 6 * inch)
MARGIN = 0.2 * inch
ZPL_DOTS = (812, 1218)  # 4x6 in at 203 dpi


@dataclass(frozen=True)
class LabelContent:
    """Everything printed on a label."""

    carrier: str
    tracking_number: str
    service_level: str
    weight_grams: int
    ship_from: Address
    ship_to: Address
    reference: str = ""


def address_lines(address: Address) -> list[str]:
    """The postal block of an address, one printed line each, empty parts left out."""
    city = " ".join(p for p in (address.city, address.province_code or "", address.zip) if p)
    lines = [address.name, address.address1, address.address2 or "", city, address.country_code]
    return [line.strip() for line in lines if line and line.strip()]


def _weight(grams: int) -> str:
    return f"{grams / 1000:.2f} kg"


# --- PDF --------------------------------------------------------------------------------


def render_pdf(label: LabelContent) -> bytes:
    """The 4x6 in PDF label (one page). Deterministic: same content, same bytes."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=PAGE, invariant=True, pageCompression=1)
    pdf.setTitle(f"{label.carrier} label {label.tracking_number}")
    pdf.setAuthor("Shipshape OMS")
    width, height = PAGE
    left, right = MARGIN, width - MARGIN
    y = height - MARGIN

    # Header: carrier and service, in a black band as on carrier labels.
    band = 0.55 * inch
    pdf.rect(left, y - band, right - left, band, stroke=0, fill=1)
    pdf.setFillColorRGB(1, 1, 1)
    pdf.setFont("Helvetica-Bold", 18)
    pdf.drawString(left + 8, y - band + 14, label.carrier.upper())
    pdf.drawRightString(right - 8, y - band + 14, label.service_level.upper())
    pdf.setFillColorRGB(0, 0, 0)
    y -= band + 16

    pdf.setFont("Helvetica-Bold", 7)
    pdf.drawString(left, y, "SHIP FROM")
    pdf.setFont("Helvetica", 8)
    for line in address_lines(label.ship_from):
        y -= 10
        pdf.drawString(left, y, line[:60])
    pdf.drawRightString(right, y, f"WEIGHT {_weight(label.weight_grams)}")
    y -= 14
    pdf.line(left, y, right, y)
    y -= 18

    pdf.setFont("Helvetica-Bold", 9)
    pdf.drawString(left, y, "SHIP TO")
    pdf.setFont("Helvetica-Bold", 14)
    for line in address_lines(label.ship_to):
        y -= 18
        pdf.drawString(left + 12, y, line[:36])
    y -= 16
    pdf.line(left, y, right, y)

    # The tracking barcode, as wide as the label allows (narrow bars scan badly).
    barcode = Code128(
        label.tracking_number, barHeight=1.1 * inch, barWidth=1.0, humanReadable=False
    )
    scale = min((right - left - 0.3 * inch) / barcode.width, 2.0)
    barcode = Code128(
        label.tracking_number,
        barHeight=1.1 * inch,
        barWidth=scale,
        humanReadable=False,
        quiet=True,
    )
    bar_y = MARGIN + 0.75 * inch
    barcode.drawOn(pdf, (width - barcode.width) / 2, bar_y)
    pdf.setFont("Helvetica-Bold", 14)
    pdf.drawCentredString(width / 2, bar_y - 18, label.tracking_number)
    pdf.setFont("Helvetica", 7)
    pdf.drawCentredString(width / 2, bar_y + 1.1 * inch + 8, "TRACKING #")
    if label.reference:
        pdf.drawString(left, MARGIN, f"REF {label.reference[:60]}")
    pdf.showPage()
    pdf.save()
    return out.getvalue()


# --- ZPL --------------------------------------------------------------------------------


def zpl_field(text: str) -> str:
    """Field data safe inside ``^FH^FD … ^FS``: ``^``, ``~`` and the escape character
    ``_`` itself become hex escapes, so no text can end the field or start a command."""
    return "".join(f"_{ord(c):02X}" if c in "^~_" else c for c in text)


def _text(x: int, y: int, size: int, text: str) -> str:
    return f"^FO{x},{y}^A0N,{size},{size}^FH^FD{zpl_field(text)}^FS"


def render_zpl(label: LabelContent) -> str:
    """The same label as a ZPL II format for 203 dpi thermal printers."""
    width, _ = ZPL_DOTS
    parts = [
        "^XA",
        "^CI28",  # field data is UTF-8
        f"^PW{width}",
        f"^LL{ZPL_DOTS[1]}",
        "^LH0,0",
        "^FO30,30^GB752,100,100^FS",  # black header band
        f"^FO50,60^A0N,50,50^FR^FH^FD{zpl_field(label.carrier.upper())}^FS",
        f"^FO430,60^A0N,50,50^FB330,1,0,R^FR^FH^FD{zpl_field(label.service_level.upper())}^FS",
        _text(30, 150, 22, "SHIP FROM"),
    ]
    y = 180
    for line in address_lines(label.ship_from):
        parts.append(_text(30, y, 24, line[:60]))
        y += 28
    weight = zpl_field(f"WEIGHT {_weight(label.weight_grams)}")
    parts.append(f"^FO430,{y - 28}^A0N,24,24^FB350,1,0,R^FH^FD{weight}^FS")
    y += 10
    parts.append(f"^FO30,{y}^GB752,3,3^FS")
    y += 20
    parts.append(_text(30, y, 26, "SHIP TO"))
    y += 34
    for line in address_lines(label.ship_to):
        parts.append(_text(60, y, 44, line[:36]))
        y += 52
    parts.append(f"^FO30,{y + 10}^GB752,3,3^FS")
    # Code 128 (subset B: 11 modules a character, 35 for start, check and stop), as wide
    # a module as fits between the margins; 230 dots high, the number printed under it.
    modules = 11 * len(label.tracking_number) + 35
    module = max(1, min(3, 740 // modules))
    left = max(30, (width - modules * module) // 2)
    parts += [
        _text(330, 780, 22, "TRACKING #"),
        f"^FO{left},820^BY{module}^BCN,230,Y,N,N^FH^FD{zpl_field(label.tracking_number)}^FS",
    ]
    if label.reference:
        parts.append(_text(30, 1160, 22, f"REF {label.reference[:60]}"))
    parts.append("^XZ")
    return "\n".join(parts) + "\n"
