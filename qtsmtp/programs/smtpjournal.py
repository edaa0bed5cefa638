"""DSPSMTPJRN: the SMTP journal (JOURNAL(*YES)) selected and shown, qtsmtp.jobs.smtpjournal."""

from __future__ import annotations

import re
import socket
import sys
from datetime import datetime

from qtsmtp.cl.binder import Bound
from qtsmtp.config import attributes
from qtsmtp.jobs import smtpjournal
from qtsmtp.messages import DIAGNOSTIC, Message, escape
from qtsmtp.store.root import data_root

WIDTH = 132
END_OF_LISTING = "* * * * *  E N D  O F  L I S T I N G  * * * * *"
_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?")
_SESSION_EVENTS = ("connect", "helo", "mail", "rcpt")


def bound_time(text: str, keyword: str, end: bool) -> str:
    """YYYY-MM-DDTHH:MM:SS (UTC) for a FROMTIME/TOTIME value; a day alone is its start
    (FROMTIME) or its end (TOTIME)."""
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise escape("TCP7021", text, keyword)
    day, hour, minute, second = match.groups()
    if hour is None:
        hour, minute, second = ("23", "59", "59") if end else ("00", "00", "00")
    second = second or ("59" if end else "00")
    stamp = f"{day}T{hour}:{minute}:{second}"
    try:
        datetime.fromisoformat(stamp)
    except ValueError:
        raise escape("TCP7021", text, keyword) from None
    return stamp


def _generic(pattern: str):
    """A test for an address: exact, or a prefix when the pattern ends in *; no case."""
    pattern = pattern.casefold()
    if pattern.endswith("*"):
        prefix = pattern[:-1]
        return lambda value: value.casefold().startswith(prefix)
    return lambda value: value.casefold() == pattern


class Selection:
    def __init__(self, bound: Bound):
        self.first = "" if bound["FROMTIME"] == "*FIRST" else bound_time(bound["FROMTIME"], "FROMTIME", False)
        self.last = "9999" if bound["TOTIME"] == "*LAST" else bound_time(bound["TOTIME"], "TOTIME", True)
        if self.first and self.last != "9999" and self.first > self.last:
            raise escape("TCP7023", bound["FROMTIME"], bound["TOTIME"])
        self.client = None if bound["CLIENT"] == "*ALL" else bound["CLIENT"].strip()
        self.sender = None if bound["SENDER"] == "*ALL" else _generic(bound["SENDER"].strip())
        self.rcpt = None if bound["RCPT"] == "*ALL" else _generic(bound["RCPT"].strip())
        self.msgid = None if bound["MSGID"] == "*ALL" else bound["MSGID"].strip().upper()

    def in_time(self, record: dict) -> bool:
        stamp = str(record.get("time", ""))[:19]
        return self.first <= stamp <= self.last

    def matches(self, record: dict) -> bool:
        if self.client is not None and record.get("client") != self.client:
            return False
        if self.sender is not None and not self.sender(str(record.get("sender", ""))):
            return False
        if self.rcpt is not None:
            named = [record.get("recipient", "")] + list(record.get("recipients", []) or [])
            if not any(self.rcpt(str(r)) for r in named if r):
                return False
        return True


def select(root, selection: Selection) -> list[dict]:
    first_day = selection.first[:10]
    last_day = selection.last[:10] if selection.last != "9999" else "9999-99-99"
    records = [r for r in smtpjournal.read_records(root, first_day, last_day)
               if selection.in_time(r)]
    records.sort(key=lambda r: str(r.get("time", "")))
    if selection.msgid is not None:
        records = message_story(records, selection.msgid)
    return [r for r in records if selection.matches(r)]


def message_story(records: list[dict], queue_id: str) -> list[dict]:
    """The records of one message: those naming its queue ID, and the session records
    (connect, HELO, MAIL, RCPT) of the connection it came in on, before it was queued."""
    story_ids = set()
    for index, record in enumerate(records):
        if record.get("queue_id") != queue_id or record.get("event") not in ("queued", "filtered"):
            continue
        key = _session_key(record)
        for back in range(index - 1, -1, -1):
            earlier = records[back]
            if _session_key(earlier) != key:
                continue
            if earlier.get("event") not in _SESSION_EVENTS:
                break               # the message before it on the same connection
            story_ids.add(back)
            if earlier.get("event") == "connect":
                break
    return [r for i, r in enumerate(records)
            if i in story_ids or r.get("queue_id") == queue_id or r.get("notification") == queue_id]


def _session_key(record: dict) -> tuple:
    return record.get("job"), record.get("client"), record.get("port")


_SHOWN_APART = ("time", "event", "job", "client", "port")


def details(record: dict) -> str:
    parts = []
    for key, value in record.items():
        if key in _SHOWN_APART:
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = value.get("reason", value)
        parts.append(f"{key}={value}")
    return " ".join(parts)


def _client(record: dict) -> str:
    client = record.get("client")
    if not client:
        return ""
    port = record.get("port")
    return f"{client}:{port}" if port is not None else str(client)


def lines(records: list[dict]) -> str:
    return "".join(f"{str(r.get('time', ''))[:23].replace('T', ' ')} {r.get('event', '?'):<9} "
                   f"{r.get('job', ''):<6} {_client(r):<22} {details(r)}\n" for r in records)


def printed(records: list[dict], bound: Bound, now: datetime | None = None) -> str:
    now = now or datetime.now()
    system = socket.gethostname().split(".")[0].upper() or "LOCALHOST"
    title = "Display SMTP Journal"
    out = [f"{'QTSMTP  V1R0M0':<20}{title:^72}{system:>20}{now.strftime('%m/%d/%y %H:%M:%S'):>20}",
           f" Journal . . . . . . . . . :   QUSRSYS/{smtpjournal.JOURNAL_FILE}",
           f" Starting time (UTC)  . . . :   {bound['FROMTIME']}",
           f" Ending time (UTC) . . . . :   {bound['TOTIME']}",
           f" Client, sender, recipient :   {bound['CLIENT']}  {bound['SENDER']}  {bound['RCPT']}",
           f" Queue ID  . . . . . . . . :   {bound['MSGID']}",
           "",
           f" {'Time (UTC)':<24}{'Event':<10}{'Job':<7}{'Client':<24}Details"]
    for r in records:
        text = details(r)
        head = (f" {str(r.get('time', ''))[:23].replace('T', ' '):<24}{r.get('event', '?'):<10}"
                f"{r.get('job', ''):<7}{_client(r)[:23]:<24}")
        room = WIDTH - len(head)
        out.append(head + text[:room])
        for start in range(room, len(text), WIDTH - 66):
            out.append(" " * 66 + text[start:start + WIDTH - 66])
    if not records:
        out.append("   No journal entries selected.")
    out.append(END_OF_LISTING.center(WIDTH))
    return "\n".join(line.rstrip() for line in out) + "\n"


def dspsmtpjrn(bound: Bound) -> list[Message]:
    root = data_root()
    selection = Selection(bound)
    records = select(root, selection)
    sys.stdout.write(printed(records, bound) if bound["OUTPUT"] == "*PRINT" else lines(records))
    notes = []
    if not smtpjournal.enabled(attributes.load(root)):
        notes.append(Message("TCP7022", type=DIAGNOSTIC))
    return notes + [Message("TCP7020", len(records))]
