"""Delivery status notifications (RFC 3464): multipart/report to the sender of mail that
failed, built with the stdlib email package. Never to the null sender <>.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage, Message
from email.utils import format_datetime, make_msgid


@dataclass(frozen=True)
class Failure:
    recipient: str
    status: str            # enhanced status code, "5.1.1"
    diagnostic: str        # "550 5.1.1 no such user", or a local reason
    remote_mta: str = ""   # the host that said so; "" for local failures


def enhanced_status(code: int, text: str) -> str:
    """The RFC 3463 code a reply carries, else one made from its class."""
    first = text.split(" ", 1)[0]
    parts = first.split(".")
    if len(parts) == 3 and all(p.isdigit() for p in parts) and first[0] in "245":
        return first
    return f"{str(code)[0]}.0.0" if str(code)[:1] in "245" else "5.0.0"


def build(system_name: str, envelope: dict, original: bytes, failures: list[Failure]) -> bytes:
    """The notification, CRLF line ends, ready for the queue."""
    now = datetime.now(timezone.utc)
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = f"Mail Delivery Subsystem <MAILER-DAEMON@{system_name}>"
    message["To"] = envelope.get("sender", "")
    message["Subject"] = "Undelivered Mail Returned to Sender"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=system_name)
    message["Auto-Submitted"] = "auto-replied"
    lines = [f"This is the mail system at {system_name}.", "",
             "Your message could not be delivered to one or more recipients.", ""]
    for f in failures:
        lines.append(f"<{f.recipient}>: {f.diagnostic}")
    message.set_content("\n".join(lines) + "\n")
    message.make_mixed()
    # multipart/report; report-type=delivery-status (RFC 3462)
    message.set_type("multipart/report")
    message.set_param("report-type", "delivery-status")

    per_message = [f"Reporting-MTA: dns; {system_name}",
                   f"X-Queue-ID: {envelope.get('id', '')}"]
    if envelope.get("arrival"):
        try:
            arrival = datetime.fromisoformat(envelope["arrival"])
            per_message.append(f"Arrival-Date: {format_datetime(arrival)}")
        except ValueError:
            pass
    blocks = []
    for fields in [per_message] + [_recipient_fields(f, now) for f in failures]:
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

    headers = original.split(b"\r\n\r\n", 1)[0]
    if b"\r\n" not in original[:len(headers) + 4]:
        headers = original.split(b"\n\n", 1)[0]
    returned = EmailMessage(policy=policy.SMTP)
    returned["Content-Type"] = "text/rfc822-headers"
    returned["Content-Description"] = "Undelivered message headers"
    returned.set_payload(headers.decode("utf-8", "replace").replace("\r\n", "\n") + "\n")
    message.attach(returned)
    return message.as_bytes(policy=policy.SMTP)


def _recipient_fields(f: Failure, now: datetime) -> list[str]:
    fields = [f"Final-Recipient: rfc822; {f.recipient}", "Action: failed", f"Status: {f.status}"]
    if f.remote_mta:
        fields.append(f"Remote-MTA: dns; {f.remote_mta}")
    kind = "smtp" if f.remote_mta else "x-local"
    fields.append(f"Diagnostic-Code: {kind}; {' '.join(f.diagnostic.split())}")
    fields.append(f"Last-Attempt-Date: {format_datetime(now)}")
    return fields
