"""Local delivery: one Maildir per local mailbox under the data root's mail directory.

    $QTSMTP_ROOT/mail/NAME/{tmp,new,cur}

NAME is the mailbox the SMTP user directory gives the recipient (config.users.LocalUsers:
the user profile in lower case, or postmaster); the caller looks it up. A message is
written to tmp/, fsynced, renamed into new/ and new/ is fsynced (the Maildir protocol,
made durable), with a Return-Path: and a Delivered-To: line in front, as a local
delivery agent adds them, and LF line ends (a Maildir file is a local file: Dovecot and
mutt expect the local convention, not the wire's CRLF).
"""

from __future__ import annotations

import itertools
import os
import re
import socket
import time
from pathlib import Path

from qtsmtp.store import durable
from qtsmtp.store.permissions import make_directory

MAIL_DIRECTORY = "mail"
_SAFE = re.compile(r"[a-z0-9_+=-][a-z0-9._+=-]{0,63}\Z")
_sequence = itertools.count(1)


class MailboxRefused(Exception):
    pass


def mailbox_name(local_part: str) -> str:
    name = local_part.strip('"').lower()
    if not _SAFE.match(name) or ".." in name:
        raise MailboxRefused(f"mailbox name {local_part!r} is not a local mailbox")
    return name


def mailbox_path(root: Path, local_part: str) -> Path:
    mail = Path(root) / MAIL_DIRECTORY
    path = mail / mailbox_name(local_part)
    if path.parent != mail or path.name in (".", ".."):    # never outside mail/
        raise MailboxRefused(f"mailbox name {local_part!r} is not a local mailbox")
    return path


def _one_line(text: str) -> str:
    """A header value made of what a client sent: control characters made "?", so no
    CR or LF can add a header line (the server refuses them; a queue file may be old)."""
    return text if text.isprintable() else "".join(c if c.isprintable() else "?" for c in text)


def local_line_ends(content: bytes) -> bytes:
    """The message with the local convention's LF line ends, as Maildir readers (Dovecot,
    mutt, Python's mailbox) expect; the queue keeps the CRLF of the wire. A bare CR stays
    as it came."""
    return content.replace(b"\r\n", b"\n")


def deliver(root: Path, local_part: str, address: str, sender: str, content: bytes) -> Path:
    """Deliver one message into a Maildir; returns the file in new/."""
    box = mailbox_path(root, local_part)
    for sub in ("tmp", "new", "cur"):
        make_directory(box / sub, 0o700)     # mail/ and the box too, whatever the umask
    unique = f"{time.time_ns() // 1000}.P{os.getpid()}Q{next(_sequence)}.{socket.gethostname()}"
    tmp, final = box / "tmp" / unique, box / "new" / unique
    head = (f"Return-Path: <{_one_line(sender)}>\nDelivered-To: {_one_line(address)}\n"
            .encode("utf-8", "replace"))
    durable.write_file(tmp, final, (head, local_line_ends(content)), 0o600)
    return final
