"""Local delivery: one Maildir per local mailbox under the data root's mail directory.

    $QTSMTP_ROOT/mail/NAME/{tmp,new,cur}

NAME is the mailbox the SMTP user directory gives the recipient (config.users.LocalUsers:
the user profile in lower case, or postmaster); the caller looks it up. A message is
written to tmp/, fsynced, renamed into new/ and new/ is fsynced (the Maildir protocol,
made durable), with a Return-Path: and a Delivered-To: line in front, as a local
delivery agent adds them, and LF line ends (a Maildir file is a local file: Dovecot and
mutt expect the local convention, not the wire's CRLF).

A mailbox's first delivery makes the Maildir whole before anyone can see it: tmp/, new/
and cur/ are made in a hidden directory beside it (mail/.NAME.PID.N.tmp), which is
renamed to mail/NAME in one step, and mail/ is fsynced; a reader never finds mail/NAME
without its new/ (Python's mailbox, Dovecot and mutt take that for no Maildir), and the
new mailbox is as durable as the message delivered into it. A crash while one is made
can leave such a hidden directory of empty directories, which nothing reads.
"""

from __future__ import annotations

import errno
import itertools
import os
import re
import shutil
import socket
import time
from pathlib import Path

from qtsmtp.messages import question_marked
from qtsmtp.store import durable
from qtsmtp.store.permissions import make_directory

MAIL_DIRECTORY = "mail"
MAILDIR_PARTS = ("tmp", "new", "cur")
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
    return question_marked(text)


def local_line_ends(content: bytes) -> bytes:
    """The message with the local convention's LF line ends, as Maildir readers (Dovecot,
    mutt, Python's mailbox) expect; the queue keeps the CRLF of the wire. A bare CR stays
    as it came."""
    return content.replace(b"\r\n", b"\n")


def deliver(root: Path, local_part: str, address: str, sender: str, content: bytes) -> Path:
    """Deliver one message into a Maildir; returns the file in new/."""
    box = mailbox_path(root, local_part)
    whole_mailbox(box)
    unique = f"{time.time_ns() // 1000}.P{os.getpid()}Q{next(_sequence)}.{socket.gethostname()}"
    tmp, final = box / "tmp" / unique, box / "new" / unique
    head = (f"Return-Path: <{_one_line(sender)}>\nDelivered-To: {_one_line(address)}\n"
            .encode("utf-8", "replace"))
    durable.write_file(tmp, final, (head, local_line_ends(content)), 0o600)
    return final


def whole_mailbox(box: Path) -> None:
    """The Maildir ``box``, with its tmp/, new/ and cur/, made if it is not there: whole
    at once under its name (see the module's docstring), mode 0700 whatever the umask."""
    if all(os.path.isdir(box / part) for part in MAILDIR_PARTS):
        return
    mail = box.parent
    if not mail.is_dir():
        make_directory(mail, 0o700)
        durable.fsync_directory(mail.parent)
    if box.exists():                 # made by hand, or by a version that made it in steps
        for part in MAILDIR_PARTS:
            make_directory(box / part, 0o700)
        durable.fsync_directory(box)
        return
    building = mail / f".{box.name}.{os.getpid()}.{next(_sequence)}.tmp"
    try:
        make_directory(building, 0o700)
        for part in MAILDIR_PARTS:
            make_directory(building / part, 0o700)
        durable.fsync_directory(building)
        try:
            os.rename(building, box)
        except OSError as taken:     # made meanwhile by another process: that one stands
            if taken.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not box.is_dir():
                raise
            for part in MAILDIR_PARTS:
                make_directory(box / part, 0o700)
        durable.fsync_directory(mail)
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
