"""The scan station: ``GET /scan`` for handheld browsers and keyboard-wedge scanners.

A static page (``static/scan.html`` + ``scan.js`` + ``scan.css``) that talks to the
warehouse-floor API with the staff key the user signs in with; the server keeps no page
state. The assets are served by name, so nothing else under ``static/`` is exposed.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parent / "static"
_NO_CACHE = {"Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


@router.get("/scan")
async def scan_page() -> FileResponse:
    return FileResponse(STATIC / "scan.html", media_type="text/html", headers=_NO_CACHE)


@router.get("/scan/scan.js")
async def scan_script() -> FileResponse:
    return FileResponse(STATIC / "scan.js", media_type="text/javascript", headers=_NO_CACHE)


@router.get("/scan/scan.css")
async def scan_styles() -> FileResponse:
    return FileResponse(STATIC / "scan.css", media_type="text/css", headers=_NO_CACHE)
