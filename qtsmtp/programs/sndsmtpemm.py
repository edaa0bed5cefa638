"""SNDSMTPEMM: build a MIME message (stdlib email) and put it in the submission queue.

The sender is the invoking user's address from the SMTP user directory (ADDUSRSMTP);
*BCC recipients are in the envelope only. Completion means queued, not delivered.
"""

from __future__ import annotations

import mimetypes
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from qtsmtp.cl.binder import Bound
from qtsmtp.config.address import AddressRefused, canonical_recipient
from qtsmtp.config.users import address_of, current_profile
from qtsmtp.delivery import submit
from qtsmtp.delivery.routing import Routing
from qtsmtp.messages import Message, escape
from qtsmtp.store.root import data_root


def build_message(sender: str, recipients: list[tuple[str, str]], subject: str, note: str | None,
                  html: bool, attachments: list[tuple[str, str]], domain: str) -> bytes:
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    to = [a for a, kind in recipients if kind == "*PRI"]
    cc = [a for a, kind in recipients if kind == "*CC"]
    if to:
        message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    if not to and not cc:
        message["To"] = "undisclosed-recipients:;"
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(note or "", subtype="html" if html else "plain")
    for path, content_type in attachments:
        file = Path(path)
        try:
            data = file.read_bytes()
        except OSError as bad:
            raise escape("TCP5034", path, bad.strerror or bad) from None
        if content_type.upper() == "*DFT":
            content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        maintype, _, subtype = content_type.partition("/")
        if not maintype or not subtype:
            raise escape("TCP5035", content_type)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=file.name)
    return message.as_bytes(policy=policy.SMTP)


def sndsmtpemm(bound: Bound) -> list[Message]:

    root = data_root()
    profile = current_profile()
    routing = Routing(root)
    sender = address_of(root, profile, routing.system_name)
    if sender is None:
        raise escape("TCP5033", profile)
    recipients = []
    for address, kind in bound["RCP"]:
        try:
            canonical = canonical_recipient(address.strip())
        except AddressRefused as bad:
            raise escape("TCP5036", address, bad.text) from None
        recipients.append((canonical.address if canonical.domain else address.strip(), kind))
    note = None if bound["NOTE"] == "*NONE" else bound["NOTE"]
    attachments = [] if bound["ATTACH"] == "*NONE" else list(bound["ATTACH"])
    content = build_message(sender, recipients, bound["SUBJECT"], note,
                            bound["CONTENT"] == "*HTML", attachments, routing.system_name)
    envelope_recipients = list(dict.fromkeys(a for a, _ in recipients))
    try:
        submission = submit.submit(root, sender, envelope_recipients, content, profile)
    except PermissionError as bad:
        raise escape("TCP8051", submit.maildrop_directory(root), bad.strerror) from None
    return [Message("TCP5032", submission, len(envelope_recipients), sender)]
