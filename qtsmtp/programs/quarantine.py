"""WRKSMTPQTN: list, release and delete the messages a mail filter kept (FTRACN(*KEEP))."""

from __future__ import annotations

import socket
import sys
from datetime import datetime

from qtsmtp.cl.binder import Bound
from qtsmtp.config import attributes
from qtsmtp.jobs import smtpjournal
from qtsmtp.messages import Message, escape
from qtsmtp.queue import quarantine
from qtsmtp.store.root import data_root

WIDTH = 132
END_OF_LISTING = "* * * * *  E N D  O F  L I S T I N G  * * * * *"


def wrksmtpqtn(bound: Bound) -> list[Message]:
    root = data_root()
    only = bound["MSGID"]
    option = bound["OPTION"]
    if option == "*LIST":
        kept = quarantine.listing(root, only)
        if only != "*ALL" and not kept:
            raise escape("TCP7013", only)
        text = printed(kept) if bound["OUTPUT"] == "*PRINT" else lines(kept)
        sys.stdout.write(text)
        return [Message("TCP7010", len(kept))]
    chosen = ([k.queue_id for k in quarantine.listing(root)] if only == "*ALL" else [only])
    journal = (smtpjournal.SmtpJournal(root, "WRKSMTPQTN")
               if smtpjournal.enabled(attributes.load(root)) else None)
    done = []
    for queue_id in chosen:
        if option == "*RELEASE":
            ok, msgid = quarantine.release(root, queue_id), "TCP7011"
        else:
            ok, msgid = quarantine.delete(root, queue_id), "TCP7012"
        if not ok:
            if only != "*ALL":
                raise escape("TCP7013", queue_id)
            continue                  # released or deleted by someone else meanwhile
        done.append(Message(msgid, queue_id))
        if journal is not None:
            journal.record("released" if option == "*RELEASE" else "deleted", queue_id=queue_id)
    if journal is not None:
        journal.close()
    return done or [Message("TCP7010", 0)]


def _cells(kept: quarantine.Kept) -> list[str]:
    envelope, reason = kept.envelope, kept.reason
    when = str(reason.get("time", ""))[:19].replace("T", " ")
    return [kept.queue_id, when, envelope.get("sender", "") or "<>",
            str(len(envelope.get("recipients", []))), str(reason.get("list", "")),
            str(reason.get("value", reason.get("reason", "")))]


def lines(kept: list[quarantine.Kept]) -> str:
    if not kept:
        return "No messages in the quarantine.\n"
    rows = [["Queue ID", "Kept", "Sender", "Rcpts", "Filter", "Matched"]] + [_cells(k) for k in kept]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[5] + "\n"
                   for r in rows)


def printed(kept: list[quarantine.Kept], now: datetime | None = None) -> str:
    """The report as a spooled file has it: heading, one block per message, end line."""
    now = now or datetime.now()
    system = socket.gethostname().split(".")[0].upper() or "LOCALHOST"
    title = "Work with SMTP Quarantine"
    out = [f"{'QTSMTP  V1R0M0':<20}{title:^72}{system:>20}{now.strftime('%m/%d/%y %H:%M:%S'):>20}",
           f" Messages  . . . . . . . . :   {len(kept)}", "",
           f" {'Queue ID':<26}{'Kept':<21}{'Sender':<40}{'Rcpts':>6}  {'Filter':<12}{'Size':>10}",
           ]
    for k in kept:
        queue_id, when, sender, rcpts, list_type, _ = _cells(k)
        out.append(f" {queue_id:<26}{when:<21}{sender[:39]:<40}{rcpts:>6}  {list_type:<12}{k.size:>10}")
        out.append(f"   Reason . . . . . . . . :   {str(k.reason.get('reason', ''))[:95]}")
        out.append(f"   Client . . . . . . . . :   {k.envelope.get('client', '')}"
                   f"  HELO {str(k.envelope.get('helo', ''))[:60]}")
        recipients = " ".join(k.envelope.get("recipients", []))
        out.append(f"   Recipients . . . . . . :   {recipients[:95]}")
    if not kept:
        out.append("   No messages in the quarantine.")
    out.append(END_OF_LISTING.center(WIDTH))
    return "\n".join(line[:WIDTH].rstrip() for line in out) + "\n"
