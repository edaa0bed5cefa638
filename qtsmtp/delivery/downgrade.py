"""8-bit content for a next hop without 8BITMIME (RFC 6152 section 3): a client must not
send it 8-bit there, so each MIME part whose body holds 8-bit bytes is re-encoded as
quoted-printable, as Postfix does. A header with 8-bit bytes cannot be re-encoded
without changing what it says (only an SMTPUTF8 message may have one, and that goes
only to a hop with SMTPUTF8): None, and the recipients fail with 5.6.3.
"""

from __future__ import annotations

from email import encoders, message_from_bytes, policy
from email.generator import BytesGenerator
from io import BytesIO

from qtsmtp.config import mimeparams

mimeparams.install()        # the message's parameters: split in linear time


def seven_bit(content: bytes) -> bytes | None:
    """``content`` with every 8-bit body re-encoded as quoted-printable, CRLF line ends;
    None when a header holds 8-bit bytes."""
    header_end = content.find(b"\r\n\r\n")
    if not content[:header_end if header_end >= 0 else len(content)].isascii():
        return None
    message = message_from_bytes(content, policy=policy.compat32)
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload()
        if isinstance(payload, str) and payload.isascii():
            continue                    # 7-bit already, or base64/quoted-printable
        if not all(str(value).isascii() for value in part.values()):
            return None
        raw = part.get_payload(decode=True) or b""
        if part.get_content_maintype() == "text":
            raw = raw.replace(b"\r\n", b"\n")     # line ends of text, not =0D in it
        del part["Content-Transfer-Encoding"]
        part.set_payload(raw)
        encoders.encode_quopri(part)
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=policy.compat32.clone(linesep="\r\n")).flatten(message)
    result = out.getvalue()
    return result if result.isascii() else None
