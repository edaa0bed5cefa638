"""Delivery status notifications (RFC 3464): multipart/report to the sender, built with the
stdlib email package. Never to the null sender <>.

One notification reports one kind of event (``Notice.action``): "failed", "delayed", or
success: "delivered" (final local delivery) and "relayed" (passed to a next hop that does
not offer DSN), which may share a report. It carries the sender's ENVID and each recipient's ORCPT (RFC 3461), and
returns the original's header section, or the whole message when the sender asked for
RET=FULL (qtsmtp-server(8), DSN, says who may get that). Internationalised addresses
are written as RFC 6533 utf-8 addresses in their ASCII form (\\x{E9}).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.utils import format_datetime, make_msgid

FAILED, DELAYED, DELIVERED, RELAYED = "failed", "delayed", "delivered", "relayed"

_SUBJECTS = {
    FAILED: "Undelivered Mail Returned to Sender",
    DELAYED: "Delayed Mail (still being retried)",
    DELIVERED: "Successful Mail Delivery Report",
    RELAYED: "Successful Mail Delivery Report",
}
_SUMMARIES = {
    FAILED: "Your message could not be delivered to one or more recipients.",
    DELAYED: "Your message could not be delivered yet to one or more recipients.\n"
             "It is still being retried; you need not send it again.",
    DELIVERED: "Your message was delivered to the mailbox of these recipients.",
    RELAYED: "Your message was passed on to a system that sends no delivery reports;\n"
             "this is the last report you will get for these recipients.",
}


@dataclass(frozen=True)
class Notice:
    recipient: str
    status: str            # enhanced status code, "5.1.1"
    diagnostic: str        # "550 5.1.1 no such user", or a local reason
    remote_mta: str = ""   # the host that said so; "" for local events
    action: str = FAILED
    orcpt: str = ""        # "rfc822;address" as the client gave it (RFC 3461 ORCPT)


Failure = Notice           # the name submissions (delivery.submit) know a failure by


def enhanced_status(code: int, text: str) -> str:
    """The RFC 3463 code a reply carries, else one made from its class."""
    first = text.split(" ", 1)[0]
    parts = first.split(".")
    if len(parts) == 3 and all(p.isdigit() for p in parts) and first[0] in "245":
        return first
    return f"{str(code)[0]}.0.0" if str(code)[:1] in "245" else "5.0.0"


def headers_of(original: bytes) -> bytes:
    headers = original.split(b"\r\n\r\n", 1)[0]
    if b"\r\n" not in original[:len(headers) + 4]:
        headers = original.split(b"\n\n", 1)[0]
    return headers


def build(system_name: str, envelope: dict, original: bytes, notices: list[Notice],
          full: bool = False) -> bytes:
    """The notification, CRLF line ends, ready for the queue. ``full``: return the whole
    original (RET=FULL), else its header section."""
    now = datetime.now(UTC)
    action = notices[0].action
    utf8 = not all(_ascii(n.recipient) and _ascii(n.orcpt) for n in notices) \
        or not _ascii(envelope.get("sender", ""))
    message = EmailMessage(policy=policy.SMTPUTF8 if utf8 else policy.SMTP)
    message["From"] = f"Mail Delivery Subsystem <MAILER-DAEMON@{system_name}>"
    message["To"] = envelope.get("sender", "")
    message["Subject"] = _SUBJECTS[action]
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=system_name)
    message["Auto-Submitted"] = "auto-replied"
    lines = [f"This is the mail system at {system_name}.", ""]
    for kind in dict.fromkeys(n.action for n in notices):      # delivered and relayed mix
        lines += [_SUMMARIES[kind], ""]
    for n in notices:
        lines.append(f"<{n.recipient}>: {n.diagnostic}")
    message.set_content("\n".join(lines) + "\n")
    message.make_mixed()
    # multipart/report; report-type=delivery-status (RFC 3462)
    message.set_type("multipart/report")
    message.set_param("report-type", "delivery-status")

    per_message = [f"Reporting-MTA: dns; {system_name}"]
    if envelope.get("envid"):
        per_message.append(f"Original-Envelope-Id: {envelope['envid']}")
    per_message.append(f"X-Queue-ID: {envelope.get('id', '')}")
    if envelope.get("arrival"):
        try:
            arrival = datetime.fromisoformat(envelope["arrival"])
            per_message.append(f"Arrival-Date: {format_datetime(arrival)}")
        except ValueError:
            pass
    blocks = []
    for fields in [per_message] + [_recipient_fields(n, now) for n in notices]:
        block = Message(policy=policy.SMTP)
        for line in fields:
            name, _, value = line.partition(": ")
            block[name] = value
        blocks.append(block)
    status = EmailMessage(policy=policy.SMTP)
    status["Content-Type"] = "message/delivery-status"
    status["Content-Description"] = "Delivery report"
    status.set_payload(blocks)
    message.attach(status)

    if full:
        # The message as it was queued, byte for byte, spliced in once the report is
        # written: parsed and written again by the email package, its header fields
        # were refolded and re-encoded (a name="..." parameter came back as RFC 2231
        # name*N*= pieces, cut short), and a hostile field cost the client job time
        # quadratic in its length (8 s for a 60 KB Content-Type of "; a" pieces).
        token = secrets.token_hex(16)
        stand_in = EmailMessage(policy=policy.SMTP)
        stand_in["X-Qtsmtp-Original"] = token
        returned = EmailMessage(policy=policy.SMTP)
        returned.set_content(stand_in, cte="7bit" if original.isascii() else "8bit")
        returned["Content-Description"] = "The message"
        # The report's boundary must not occur in what is spliced into it.
        boundary = f"=_qtsmtp_{token}"
        while boundary.encode() in original:
            boundary = f"=_qtsmtp_{secrets.token_hex(16)}"
        message.set_boundary(boundary)
    else:
        returned = EmailMessage(policy=policy.SMTP)
        body = headers_of(original).decode("utf-8", "replace").replace("\r\n", "\n") + "\n"
        # text/rfc822-headers (RFC 6522) also for UTF-8 headers, with charset and 8bit:
        # the email package writes a message/global-headers payload as ASCII only.
        returned.set_content(body, subtype="rfc822-headers",
                             cte="7bit" if body.isascii() else "8bit")
        returned["Content-Description"] = "The message's headers"
    message.attach(returned)
    report = message.as_bytes(policy=policy.SMTPUTF8 if utf8 else policy.SMTP)
    if full:
        whole = original if original.endswith(b"\r\n") else original + b"\r\n"
        report = report.replace(f"X-Qtsmtp-Original: {token}\r\n\r\n".encode(), whole, 1)
    return report


def _ascii(text: str) -> bool:
    return text.isascii()


def _typed_address(kind: str, address: str) -> str:
    """"rfc822; a@b", or for an internationalised address RFC 6533's "utf-8; " with the
    utf-8-addr-xtext form (\\x{E9} for each non-ASCII character), which keeps the
    delivery-status part ASCII."""
    if address.isascii() and kind != "utf-8":
        return f"{kind}; {address}"
    encoded = "".join(c if c.isascii() and c.isprintable() and c not in "\\+=" else f"\\x{{{ord(c):X}}}"
                      for c in address)
    return f"utf-8; {encoded}"


def _recipient_fields(n: Notice, now: datetime) -> list[str]:
    fields = []
    if n.orcpt:
        orcpt_kind, _, orcpt_address = n.orcpt.partition(";")
        fields.append(f"Original-Recipient: {_typed_address(orcpt_kind, orcpt_address)}")
    fields += [f"Final-Recipient: {_typed_address('rfc822', n.recipient)}",
               f"Action: {n.action}", f"Status: {n.status}"]
    if n.remote_mta:
        fields.append(f"Remote-MTA: dns; {n.remote_mta}")
    code_kind = "smtp" if n.remote_mta else "x-local"
    fields.append(f"Diagnostic-Code: {code_kind}; {' '.join(n.diagnostic.split())}")
    fields.append(f"Last-Attempt-Date: {format_datetime(now)}")
    return fields
