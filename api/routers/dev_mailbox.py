"""``/dev/mailbox``: what ``oms dev``'s SMTP sink caught — customer emails as customers
would get them, newest first, each viewable. Admin only, and only while the sink is the
configured SMTP server (``OMS_DEV_SMTP_SINK`` == ``OMS_SMTP_URL``): otherwise 404, as if
it did not exist, so a production API never shows a mailbox.

One entry per Message-ID: a resend after a lost acknowledgement shows once, with
``copies`` counting it (docs/decisions/0006-customer-emails-outbox.md).
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from api.auth import Admin, current_principal
from api.bounds import RowId
from api.deps import AppSettings, Autocommit, Session
from api.pages.common import page_user, render
from api.problems import Problem, problem_responses
from api.schemas.ops import MailboxEntry
from domain.codes import ProblemCode
from oms.mailsink import parse
from store import dev_mailbox
from store.keys import Principal
from store.tables import DevMailboxMessage


async def sink_configured(settings: AppSettings) -> None:
    if not settings.mailbox_enabled:
        raise Problem(
            404,
            "no dev mailbox: the SMTP sink is not the mail server",
            reason=ProblemCode.NOT_FOUND,
        )


router = APIRouter(tags=["dev"], dependencies=[Depends(sink_configured)])


def _entry(row: DevMailboxMessage) -> MailboxEntry:
    return MailboxEntry(
        id=row.id,
        to=row.rcpt_to,
        subject=row.subject,
        milestone=row.milestone,
        order_id=row.order_id,
        shipment_id=row.shipment_id,
        message_id=row.message_id,
        at=row.first_at,
        copies=row.copies,
    )


async def mailbox_viewer(request: Request, db: Autocommit) -> Principal:
    """An admin, by Bearer key (curl) or by dashboard session (a browser: 303 to /login
    without one)."""
    if request.headers.get("authorization"):
        who = await current_principal(request, db)
    else:
        who = await page_user(request)
    if who.role != "admin":
        raise Problem(403, "the dev mailbox is for admins", reason=ProblemCode.FORBIDDEN)
    return who


Viewer = Annotated[Principal, Depends(mailbox_viewer)]


@router.get(
    "/dev/mailbox.json",
    response_model=list[MailboxEntry],
    responses=problem_responses(401, 403, 404),
)
async def mailbox_json(session: Session, _: Admin) -> list[MailboxEntry]:
    """The caught emails, newest first."""
    return [_entry(r) for r in await dev_mailbox.newest(session)]


@router.get("/dev/mailbox", response_class=HTMLResponse, include_in_schema=False)
async def mailbox_page(request: Request, session: Session, who: Viewer) -> Response:
    rows = await dev_mailbox.newest(session)
    return render(request, "mailbox.html", who, mails=[_entry(r) for r in rows])


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return (
        str(text.get_content()) if text is not None else "",
        str(html.get_content()) if html is not None else "",
    )


@router.get("/dev/mailbox/{mail_id}", response_class=HTMLResponse, include_in_schema=False)
async def mailbox_message(
    request: Request, mail_id: RowId, session: Session, who: Viewer
) -> Response:
    row = await dev_mailbox.one(session, mail_id)
    if row is None:
        raise Problem(404, f"no caught mail {mail_id}", reason=ProblemCode.NOT_FOUND)
    message = parse(row.raw.encode())
    text, html = _parts(message)
    headers = [(k, str(v)) for k, v in message.items()]
    return render(
        request,
        "mailbox_message.html",
        who,
        mail=_entry(row),
        text=text,
        html=html,
        headers_list=headers,
    )
