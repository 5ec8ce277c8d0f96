"""Read a label PDF the way a scanner and a person would: the barcode and the printed text."""

from __future__ import annotations

import pypdfium2 as pdfium
import zxingcpp


def page_count_and_size(pdf: bytes) -> tuple[int, tuple[float, float]]:
    """Pages and the first page's size in points (4x6 in = 288 x 432)."""
    doc = pdfium.PdfDocument(pdf)
    return len(doc), doc[0].get_size()


def barcodes(pdf: bytes, dpi: int = 203) -> list[tuple[str, str]]:
    """``(format, text)`` of every barcode on the first page, rendered at a thermal
    printer's resolution."""
    page = pdfium.PdfDocument(pdf)[0]
    image = page.render(scale=dpi / 72).to_pil()
    return [(r.format.name, r.text) for r in zxingcpp.read_barcodes(image)]


def text(pdf: bytes) -> str:
    """The first page's text."""
    page = pdfium.PdfDocument(pdf)[0]
    return str(page.get_textpage().get_text_range())
